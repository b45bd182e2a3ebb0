"""Benchmark of start-up: the wall time of whole `mxprobe` processes against bare Python, in one run.

Run on demand: `.venv/bin/python tests/bench/bench_startup.py [--repeat 15]`.

Each command runs `--repeat` times, interleaved (these machines are noisy: only side-by-side figures mean
something); the median is shown, and the ratios:

- `python -c pass` (the floor) and `python -c "import dns.message"` (what any DNS work costs);
- `mxprobe --ip 192.0.2.20 --check ptr --nameserver <loopback>`: one PTR query to the loopback test server
  (no added delay) and a report. Targets: <= 0.15 s, <= 2x `import dns.message`;
- `mxprobe explain "<a reply>"`: no network at all.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from servers.dns import DnsServer  # noqa: E402

IP = "192.0.2.20"  # tests/zones: PTR mail.example.com
REPLY = "550 5.7.1 Service unavailable; client host [192.0.2.20] blocked using zen.spamhaus.org"


# Compiled modules are cached as an installed package's are (pip writes them), but outside the tree.
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": os.path.join(tempfile.gettempdir(), "mxprobe-bench-pycache"),
}


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command (15)")
    args = parser.parse_args(argv)
    python = sys.executable
    script = Path(python).with_name("mxprobe")
    mxprobe = [str(script)] if script.exists() else [python, "-m", "mxprobe"]
    with DnsServer() as server:
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import dns.message'": [python, "-c", "import dns.message"],
            "mxprobe --ip IP --check ptr": [
                *mxprobe,
                "--ip",
                IP,
                "--check",
                "ptr",
                "--nameserver",
                server.address,
            ],
            "mxprobe explain REPLY": [*mxprobe, "explain", REPLY],
        }
        check = subprocess.run(
            commands["mxprobe --ip IP --check ptr"], capture_output=True, text=True, env=ENV
        )
        if "mail.example.com" not in check.stdout:
            print(f"mxprobe did not report the PTR (exit {check.returncode}):\n{check.stdout}{check.stderr}")
            return 1
        times: dict[str, list[float]] = {label: [] for label in commands}
        for command in commands.values():  # warm-up: compiled modules cached
            wall(command)
        for _ in range(args.repeat):
            for label, command in commands.items():
                times[label].append(wall(command))
    median = {label: statistics.median(values) for label, values in times.items()}
    bare, dns = median["python -c pass"], median["python -c 'import dns.message'"]
    for label, value in median.items():
        ratios = f"{value / bare:4.1f}x bare python   {value / dns:4.2f}x import dns.message"
        print(f"{label:34} {value * 1000:6.0f} ms   {ratios}")
    ptr = median["mxprobe --ip IP --check ptr"]
    verdict = "met" if ptr <= 0.15 and ptr <= 2 * dns else "NOT met"
    print(
        f"target (--check ptr <= 150 ms, <= 2x import dns.message): {verdict}; median of {args.repeat} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
