"""Mutants of the DNS layer's guard lines: answers matched to queries, the lean answer path, rcodes and
deadlines."""

from __future__ import annotations

from mutants.runner import Mutant

TESTS = ["tests/test_dns_transport.py", "tests/test_dns_layer.py"]


def _dns(label: str, path: str, old: str, new: str) -> Mutant:
    return Mutant(label, f"mxprobe/dns/{path}", old, new, TESTS)


MUTANTS = [
    _dns("match: id not compared", "wire.py", "reply[:2] != query[:2]", "False"),
    _dns("match: QR bit ignored", "wire.py", "not flags & QR or ", ""),
    _dns("match: opcode ignored", "wire.py", " or (flags ^ (query[2] << 8 | query[3])) & OPCODE", ""),
    _dns(
        "match: any rcode without question",
        "wire.py",
        "qdcount == 0 and flags & RCODE in QUESTIONLESS",
        "qdcount == 0",
    ),
    _dns("match: question count ignored", "wire.py", "qdcount == 1\n        and ", ""),
    _dns(
        "match: name not compared",
        "wire.py",
        "reply[12 : end - 4].lower() == query[12 : end - 4].lower()",
        "True",
    ),
    _dns(
        "match: name compared with case",
        "wire.py",
        "reply[12 : end - 4].lower() == query[12 : end - 4].lower()",
        "reply[12 : end - 4] == query[12 : end - 4]",
    ),
    _dns(
        "match: type and class not compared",
        "wire.py",
        "reply[end - 4 : end] == query[end - 4 : end]",
        "True",
    ),
    _dns("lean: SOA rdata not checked", "wire.py", "names_end + 20 != pos + rdlength", "False"),
    _dns(
        "lean: record bounds not checked",
        "wire.py",
        "rdtype != wanted or pos + rdlength > len(reply)",
        "rdtype != wanted",
    ),
    _dns("lean: OPT owner not checked", "wire.py", "reply[owner] != 0", "False"),
    _dns("lean: EDNS options not checked", "wire.py", "            _opt_options(rdata)\n", ""),
    _dns("lean: pointer direction not checked", "wire.py", "target >= pos or hops > 127", "hops > 127"),
    _dns("lean: extended rcode dropped", "wire.py", "flags & RCODE | high << 4", "flags & RCODE"),
    _dns(
        "accept: response test removed",
        "transport.py",
        "    if not wire.match(query, end, data):\n        return None\n",
        "",
    ),
    _dns(
        "accept: TC ignored",
        "transport.py",
        "    if data[2] << 8 & wire.TC:\n        return _TRUNCATED\n",
        "",
    ),
    _dns(
        "accept: malformed raises",
        "transport.py",
        "any parse failure: a malformed datagram is ignored, as dnspython does\n        return None",
        "\n        raise",
    ),
    _dns(
        "udp: only one queued datagram read",
        "transport.py",
        "while waiter.datagrams:",
        "if waiter.datagrams:",
    ),
    _dns(
        "udp: datagram dropped when nobody waits",
        "transport.py",
        "            waiter.datagrams.append(data)\n            waiter.wake()",
        "            if waiter.wakeup is not None and not waiter.wakeup.done():\n"
        "                waiter.datagrams.append(data)\n            waiter.wake()",
    ),
    _dns("udp: id drawn once", "transport.py", "while qid in sock.waiters:", "if qid in sock.waiters:"),
    _dns(
        "udp: socket not connected",
        "transport.py",
        "            raw.connect((ns.host, ns.port))  # the kernel drops datagrams from any other source\n",
        "",
    ),
    _dns("udp: ICMP error ignored", "transport.py", "            waiter.error = exc\n", ""),
    _dns(
        "sockets: no bound",
        "transport.py",
        "best.load < PER_SOCKET or len(sockets) >= MAX_SOCKETS",
        "best.load < PER_SOCKET",
    ),
    _dns("sockets: never retired", "transport.py", "if sock.uses < MAX_USES:", "if True:"),
    _dns("tcp: fresh timeout", "transport.py", "timeout - (loop.time() - started)", "timeout"),
    _dns(
        "tcp: response test removed",
        "transport.py",
        "    if not wire.match(query, end, data):\n        raise BadResponse",
        "    if False:\n        raise BadResponse",
    ),
    _dns(
        "client: other rcodes read as NODATA",
        "client.py",
        'if rcode not in ("NOERROR", "NXDOMAIN"):',
        'if rcode in ("SERVFAIL", "REFUSED"):',
    ),
    _dns(
        "client: CNAME loop not detected",
        "client.py",
        "if current in seen or len(cnames) > MAX_CNAME_CHAIN:",
        "if len(cnames) > MAX_CNAME_CHAIN:",
    ),
    _dns("client: no deadline check", "client.py", "if timeout <= 0:", "if False:"),
    _dns(
        "client: no deadline margin", "client.py", "margin=min(0.5, self.deadline.seconds / 20)", "margin=0.0"
    ),
    _dns(
        "client: no failover on failure",
        "client.py",
        "                        break  # SERVFAIL",
        "                        return answer  # SERVFAIL",
    ),
    _dns(
        "answer: only some rcodes failed",
        "answer.py",
        "return self.rcode not in ANSWERED",
        'return self.rcode in ("SERVFAIL", "REFUSED", "TIMEOUT", "ERROR")',
    ),
    _dns(
        "deadline: cap ignores the deadline",
        "deadline.py",
        "return min(timeout, self.remaining() - margin)",
        "return timeout",
    ),
    _dns(
        "nameserver: Unicode digits",
        "nameserver.py",
        "digits.isascii() and digits.isdigit()",
        "digits.isdigit()",
    ),
]
