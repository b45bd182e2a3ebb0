"""Benchmark of the reply catalogue: replies/second on one core, and the cold start of `mxprobe explain`.

Run on demand from the repository root: `.venv/bin/python tests/bench/bench_catalogue.py [N]`.

The replies are the servers' own texts from tests/data (seed, provider and single-reply TSVs), each also in a
Postfix log line and in another letter case, cycled to N (default 100,000): the mix `mxprobe explain -` meets
in a log. Each reply goes the whole way: found in the text, then matched (`catalogue.explain`).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
TARGET_RATE = 20_000
TARGET_START = 0.25
RUNS = 11


def reply_texts() -> list[str]:
    texts = []
    for name in ("seed-replies.tsv", "provider-replies.tsv", "single-replies.tsv"):
        path = DATA / name
        if not path.exists():
            print(f"note: {path} is missing; benchmarking without it", file=sys.stderr)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                texts.append(line.split("\t")[-1].replace("\\n", "\n"))
    return texts


def workload(n: int) -> list[str]:
    base = reply_texts()
    forms = []
    for i, text in enumerate(base):
        flat = " ".join(text.split())
        forms.append(text)
        forms.append(
            f"Mar  3 10:1{i % 10}:07 mx1 postfix/smtp[{1000 + i}]: 4Q{i:05X}: to=<user{i}@example.net>, "
            f"relay=mx.example.net[192.0.2.{i % 250}]:25, delay=1.{i % 9}, dsn=5.0.0, status=bounced "
            f"(host mx.example.net[192.0.2.{i % 250}] said: {flat} (in reply to RCPT TO command))"
        )
        forms.append(flat.lower() if i % 2 else flat.upper())
    return [forms[i % len(forms)] for i in range(n)]


def rate(n: int) -> tuple[float, float, float, int]:
    """(replies/s of wall time, replies per CPU second, the catalogue load in seconds, entries). The CPU
    figure holds steady when the machine is shared; the wall figure is what one idle core gives."""
    sys.path.insert(0, str(ROOT))
    texts = workload(n)
    start = time.perf_counter()
    from mxprobe import catalogue

    entries = len(catalogue.entries())
    loaded = time.perf_counter() - start
    explain = catalogue.explain
    start, cpu = time.perf_counter(), time.process_time()
    misses = sum(1 for text in texts if explain(text) is None)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if misses:
        print(f"note: {misses} texts held no SMTP reply", file=sys.stderr)
    return n / elapsed, n / cpu, loaded, entries


def cold_start(command: list[str]) -> tuple[float, float]:
    """Median wall and CPU (user + system) time of a run: CPU time holds steady on a busy machine.

    As an installed mxprobe runs: with its modules' bytecode cached (pip writes it at install time). A
    PYTHONDONTWRITEBYTECODE in this environment would make every run compile mxprobe from source, so it is
    dropped for the runs, and one unmeasured run writes the cache.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per_second, per_cpu_second, loaded, entries = rate(n)
    print(f"catalogue: {entries} entries, loaded and compiled in {loaded * 1000:.1f} ms")
    verdict = "ok" if per_cpu_second >= TARGET_RATE else "BELOW TARGET"
    print(
        f"match: {per_second:,.0f} replies/s wall, {per_cpu_second:,.0f} per CPU second, {n:,} replies, "
        f"one core (target >= {TARGET_RATE:,} per CPU second) {verdict}"
    )
    reply = "550 5.1.1 user unknown"
    script = Path(sys.executable).with_name("mxprobe")
    for label, command in (
        ("python -m mxprobe explain", [sys.executable, "-m", "mxprobe", "explain", reply]),
        ("mxprobe explain (console script)", [str(script), "explain", reply]),
    ):
        if not Path(command[0]).exists():
            print(f"cold start: {label}: {command[0]} is not installed")
            continue
        wall, cpu = cold_start(command)
        verdict = "ok" if wall <= TARGET_START else "ABOVE TARGET"
        print(
            f"cold start: {label}: {wall:.3f} s wall, {cpu:.3f} s CPU, medians of {RUNS} runs "
            f"(target <= {TARGET_START} s) {verdict}"
        )


if __name__ == "__main__":
    main()
