"""Benchmark of the mail-log summary, run on demand from the repository root:

    .venv/bin/python tests/bench/bench_maillog.py [LINES]

Generates a Postfix log of LINES lines (default 1,000,000) in a temporary file with tests/maillog_gen.py (the
generator the tests check the summary against), then runs what `mxprobe explain --summary --file LOG` runs
(text_lines -> LogReader -> Summary) in this process, on one core, and prints lines per second (target >=
200,000) and records per second, and the peak memory (getrusage) after a tenth of the log and after all of
it: flat memory means the two are close. A second log of only delivery-record lines (no connect, qmgr,
cleanup lines) shows the worst case, every line matched.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))  # maillog_gen, as tests/conftest.py's pythonpath does for the suite

from maillog_gen import Expected, write_postfix_log  # noqa: E402

from mxprobe import catalogue, maillog  # noqa: E402
from mxprobe.inputs import text_lines  # noqa: E402

TARGET = 200_000


def peak_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def summarise(path: Path, cat: catalogue.Catalogue) -> tuple[float, dict[str, object], maillog.Summary]:
    reader = maillog.LogReader()
    start = time.process_time()
    with path.open("rb") as f:
        result = maillog.Summary(cat).add_all(reader.records(text_lines(f)))
    seconds = time.process_time() - start
    return seconds, result.to_dict(reader), result


def check(data: dict[str, object], expected: Expected) -> None:
    if data["records"] != expected.records or data["lines"] != expected.lines:
        sys.exit(f"the summary does not match the generator: {data['records']} != {expected.records} records")


def bench(label: str, lines: int, cat: catalogue.Catalogue, *, noise: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        small, full = Path(tmp) / "small.log", Path(tmp) / "full.log"
        with small.open("w") as f:
            small_expected = write_postfix_log(f, lines // 10, noise=noise)
        with full.open("w") as f:
            expected = write_postfix_log(f, lines, noise=noise)
        size = full.stat().st_size / 2**20
        _, data, _ = summarise(small, cat)
        check(data, small_expected)
        after_small = peak_mib()
        seconds, data, result = summarise(full, cat)
        check(data, expected)
        after_full = peak_mib()
    rate = lines / seconds
    verdict = "ok" if rate >= TARGET else "BELOW TARGET"
    print(f"{label}: {lines:,} lines ({size:.0f} MiB), {expected.records:,} records, {seconds:.2f} s CPU")
    print(
        f"  {rate:,.0f} lines/s on one core (target >= {TARGET:,}) {verdict}; "
        f"{expected.records / seconds:,.0f} records/s"
    )
    print(
        f"  reply cache: {result.matcher.hits:,} hits, {result.matcher.misses:,} catalogue matches; "
        f"{len(result.domains)} domains, {len(result.causes)} causes"
    )
    print(f"  peak memory: {after_small:.0f} MiB after {lines // 10:,} lines, {after_full:.0f} MiB after all")


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    start = time.perf_counter()
    cat = catalogue.default()
    print(f"catalogue: {len(cat.entries)} entries, loaded in {(time.perf_counter() - start) * 1000:.0f} ms")
    bench("postfix log", lines, cat, noise=True)
    bench("delivery lines only", lines, cat, noise=False)


if __name__ == "__main__":
    main()
