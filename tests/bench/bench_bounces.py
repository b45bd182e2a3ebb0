"""Benchmark of `mxprobe explain` on bounces, run on demand:

    .venv/bin/python tests/bench/bench_bounces.py [--messages 600] [--big-mb 32]

1. A directory of `--messages` bounce messages (the corpus of tests/data/bounces/corpus, repeated under new
   names) explained by one `mxprobe explain --file DIR --json` process pinned to one core: messages per
   second, wall time including the interpreter's start (target >= 300/s).
2. A bounce of `--big-mb` MiB made of 4,095-character lines of the shapes that make a regex quadratic
   (letters, dotted runs, digits, `550 550 ...`, address runs): the seconds one `explain` takes on it
   (target < 10 s for 32 MiB).
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "bounces" / "corpus"
SHAPES = ["a" * 4095, "a." * 2047, "5" * 4095, "550 " * 1023, "bob@example.com " * 255, "@" + "a" * 4094]
HEAD = (
    "From: MAILER-DAEMON@mx.sender.example\nTo: sam@sender.example\n"
    "Subject: Undelivered Mail Returned to Sender\n\nThis is the mail system at host mx.sender.example.\n\n"
    "<bob@dest.example>: host mx.dest.example[192.0.2.1] said: 550 5.1.1 no such user\n\n"
)


def explain(args: list[str]) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    command = [sys.executable, "-m", "mxprobe", "explain", *args]
    pin = ["taskset", "-c", str(min(os.sched_getaffinity(0)))] if shutil.which("taskset") else []
    start = time.perf_counter()
    done = subprocess.run([*pin, *command], capture_output=True, cwd=ROOT, check=False)
    return time.perf_counter() - start, done


def folder(directory: Path, count: int) -> None:
    messages = sorted(CORPUS.glob("*.eml"))
    for index in range(count):
        source = messages[index % len(messages)]
        shutil.copy(source, directory / f"{index:04d}-{source.name}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--big-mb", type=int, default=32)
    options = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "bounces"
        directory.mkdir()
        folder(directory, options.messages)
        seconds, done = explain(["--file", str(directory), "--json"])
        results = done.stdout.count(b"\n")
        rate = options.messages / seconds
        print(
            f"folder: {options.messages} messages, {results} JSON lines, {seconds:.2f} s, "
            f"{rate:.0f} messages/s (one process, one core; target >= 300/s)"
        )
        ok &= done.returncode == 0 and rate >= 300
        big = Path(tmp) / "big.eml"
        lines = (options.big_mb * 1024 * 1024) // 4096
        with big.open("w") as f:
            f.write(HEAD)
            for index in range(lines):
                f.write(SHAPES[index % len(SHAPES)] + "\n")
        seconds, done = explain(["--file", str(big), "--json"])
        size = big.stat().st_size / (1024 * 1024)
        print(
            f"big bounce: {size:.0f} MiB of 4,095-character lines explained in {seconds:.2f} s "
            f"(exit {done.returncode}; target < 10 s)"
        )
        ok &= done.returncode == 0 and seconds < 10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
