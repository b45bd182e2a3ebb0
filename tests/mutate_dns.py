"""Mutation testing of the DNS layer's guard lines (issue 9): each mutant removes or weakens one guard, and
the DNS tests must fail ("killed") for every one of them.

Run on demand, not in CI (about a minute per 10 mutants):

    .venv/bin/python tests/mutate_dns.py            # every mutant; exit 1 when one survives
    .venv/bin/python tests/mutate_dns.py -k tcp     # the mutants whose label contains "tcp"

The mutants are applied to a copy of the tree in a temporary folder, never to the working tree.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_dns_transport.py", "tests/test_dns_layer.py"]


class Mutant(NamedTuple):
    label: str
    path: str  # below mxprobe/dns/
    old: str
    new: str


MUTANTS = [
    Mutant("match: id not compared", "wire.py", "reply[:2] != query[:2]", "False"),
    Mutant("match: QR bit ignored", "wire.py", "not flags & QR or ", ""),
    Mutant("match: opcode ignored", "wire.py", " or (flags ^ (query[2] << 8 | query[3])) & OPCODE", ""),
    Mutant(
        "match: any rcode without question",
        "wire.py",
        "qdcount == 0 and flags & RCODE in QUESTIONLESS",
        "qdcount == 0",
    ),
    Mutant("match: question count ignored", "wire.py", "qdcount == 1\n        and ", ""),
    Mutant(
        "match: name not compared",
        "wire.py",
        "reply[12 : end - 4].lower() == query[12 : end - 4].lower()",
        "True",
    ),
    Mutant(
        "match: name compared with case",
        "wire.py",
        "reply[12 : end - 4].lower() == query[12 : end - 4].lower()",
        "reply[12 : end - 4] == query[12 : end - 4]",
    ),
    Mutant(
        "match: type and class not compared",
        "wire.py",
        "reply[end - 4 : end] == query[end - 4 : end]",
        "True",
    ),
    Mutant("lean: SOA rdata not checked", "wire.py", "names_end + 20 != pos + rdlength", "False"),
    Mutant(
        "lean: record bounds not checked",
        "wire.py",
        "rdtype != wanted or pos + rdlength > len(reply)",
        "rdtype != wanted",
    ),
    Mutant("lean: OPT owner not checked", "wire.py", "reply[owner] != 0", "False"),
    Mutant("lean: EDNS options not checked", "wire.py", "            _opt_options(rdata)\n", ""),
    Mutant("lean: pointer direction not checked", "wire.py", "target >= pos or hops > 127", "hops > 127"),
    Mutant("lean: extended rcode dropped", "wire.py", "flags & RCODE | high << 4", "flags & RCODE"),
    Mutant(
        "accept: response test removed",
        "transport.py",
        "    if not wire.match(query, end, data):\n        return None\n",
        "",
    ),
    Mutant(
        "accept: TC ignored",
        "transport.py",
        "    if data[2] << 8 & wire.TC:\n        return _TRUNCATED\n",
        "",
    ),
    Mutant(
        "accept: malformed raises",
        "transport.py",
        "any parse failure: a malformed datagram is ignored, as dnspython does\n        return None",
        "\n        raise",
    ),
    Mutant(
        "udp: only one queued datagram read",
        "transport.py",
        "while waiter.datagrams:",
        "if waiter.datagrams:",
    ),
    Mutant(
        "udp: datagram dropped when nobody waits",
        "transport.py",
        "            waiter.datagrams.append(data)\n            waiter.wake()",
        "            if waiter.wakeup is not None and not waiter.wakeup.done():\n"
        "                waiter.datagrams.append(data)\n            waiter.wake()",
    ),
    Mutant("udp: id drawn once", "transport.py", "while qid in sock.waiters:", "if qid in sock.waiters:"),
    Mutant(
        "udp: socket not connected",
        "transport.py",
        "            raw.connect((ns.host, ns.port))  # the kernel drops datagrams from any other source\n",
        "",
    ),
    Mutant("udp: ICMP error ignored", "transport.py", "            waiter.error = exc\n", ""),
    Mutant(
        "sockets: no bound",
        "transport.py",
        "best.load < PER_SOCKET or len(sockets) >= MAX_SOCKETS",
        "best.load < PER_SOCKET",
    ),
    Mutant("sockets: never retired", "transport.py", "if sock.uses < MAX_USES:", "if True:"),
    Mutant("tcp: fresh timeout", "transport.py", "timeout - (loop.time() - started)", "timeout"),
    Mutant(
        "tcp: response test removed",
        "transport.py",
        "    if not wire.match(query, end, data):\n        raise BadResponse",
        "    if False:\n        raise BadResponse",
    ),
    Mutant(
        "client: other rcodes read as NODATA",
        "client.py",
        'if rcode not in ("NOERROR", "NXDOMAIN"):',
        'if rcode in ("SERVFAIL", "REFUSED"):',
    ),
    Mutant(
        "client: CNAME loop not detected",
        "client.py",
        "if current in seen or len(cnames) > MAX_CNAME_CHAIN:",
        "if len(cnames) > MAX_CNAME_CHAIN:",
    ),
    Mutant("client: no deadline check", "client.py", "if timeout <= 0:", "if False:"),
    Mutant(
        "client: no deadline margin", "client.py", "margin=min(0.5, self.deadline.seconds / 20)", "margin=0.0"
    ),
    Mutant(
        "client: no failover on failure",
        "client.py",
        "                        break  # SERVFAIL",
        "                        return answer  # SERVFAIL",
    ),
    Mutant(
        "answer: only some rcodes failed",
        "answer.py",
        "return self.rcode not in ANSWERED",
        'return self.rcode in ("SERVFAIL", "REFUSED", "TIMEOUT", "ERROR")',
    ),
    Mutant(
        "deadline: cap ignores the deadline",
        "deadline.py",
        "return min(timeout, self.remaining() - margin)",
        "return timeout",
    ),
    Mutant(
        "nameserver: Unicode digits",
        "nameserver.py",
        "digits.isascii() and digits.isdigit()",
        "digits.isdigit()",
    ),
]


def run(mutant: Mutant, tree: Path) -> str | None:
    """Apply one mutant to the copy, run the DNS tests, restore; the first test that failed (the mutant
    is killed), or None (it survived)."""
    target = tree / "mxprobe" / "dns" / mutant.path
    original = target.read_text(encoding="utf-8")
    if original.count(mutant.old) != 1:
        raise SystemExit(f"mutant {mutant.label!r}: its text is not found once in {mutant.path}")
    target.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
    try:
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-rf", "-p", "no:cacheprovider", *TESTS]
        result = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=600, check=False)
    finally:
        target.write_text(original, encoding="utf-8")
    if result.returncode == 0:
        return None
    failed = [line[7:].split(" - ")[0] for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    return failed[0].split("::", 1)[-1] if failed else f"pytest exit {result.returncode}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only the mutants whose label contains this text")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.k.lower() in m.label.lower()]
    survivors = []
    with tempfile.TemporaryDirectory(prefix="mxprobe-mutants-") as folder:
        tree = Path(folder)
        shutil.copytree(ROOT / "mxprobe", tree / "mxprobe")
        shutil.copytree(ROOT / "tests", tree / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", tree)
        for mutant in chosen:
            killer = run(mutant, tree)
            print(f"{'killed  ' if killer else 'SURVIVED'}  {mutant.label:42} {killer or ''}", flush=True)
            if not killer:
                survivors.append(mutant.label)
    print(f"{len(chosen) - len(survivors)} of {len(chosen)} mutants killed; survivors: {survivors or 'none'}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
