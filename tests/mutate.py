"""Mutation testing of the guard lines (issue 9): every mutant must make a test fail.

Run on demand, not in CI (each mutant runs its test files once; `dns` takes about 5 minutes):

    .venv/bin/python tests/mutate.py                  # every table: promises, dns, blocklists, smtp
    .venv/bin/python tests/mutate.py promises         # the four guards of the README's core promises
    .venv/bin/python tests/mutate.py dns -k match     # the DNS mutants whose label contains "match"

Exit 1 when a mutant survives. The SMTP guards are also covered by mutmut (see tests/test_smtp_wire.py).
"""

from __future__ import annotations

import argparse
import sys

from mutants import blocklists, dns, promises, smtp
from mutants.runner import run_all

TABLES = {
    "promises": promises.MUTANTS,
    "dns": dns.MUTANTS,
    "blocklists": blocklists.MUTANTS,
    "smtp": smtp.MUTANTS,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("tables", nargs="*", help=f"which tables, of {', '.join(TABLES)} (default: all)")
    parser.add_argument("-k", default="", help="only the mutants whose label contains this text")
    args = parser.parse_args(argv)
    unknown = set(args.tables) - set(TABLES)
    if unknown:
        parser.error(f"no table {', '.join(sorted(unknown))}: choose from {', '.join(TABLES)}")
    chosen = [m for t in args.tables or TABLES for m in TABLES[t] if args.k.lower() in m.label.lower()]
    return 1 if run_all(chosen) else 0


if __name__ == "__main__":
    sys.exit(main())
