"""`Answer`: the outcome of one query, kept whole so that checks can show it as evidence."""

from __future__ import annotations

from typing import Any

import dns.message

from mxprobe.model import Evidence

# Outcomes that are not an answer from the DNS: nothing may be concluded from them. Every rcode other than
# NOERROR and NXDOMAIN (FORMERR, NOTIMP, YXDOMAIN, BADVERS, ...) is one too: see `Answer.failed`.
ANSWERED = frozenset({"NOERROR", "NXDOMAIN", "NODATA"})


class Answer:
    """The outcome of one query.

    `rcode` is NOERROR, NXDOMAIN, NODATA (NOERROR without records of the type), TIMEOUT, ERROR (no usable
    reply) or the name of any other rcode the nameserver answered (SERVFAIL, REFUSED, NOTIMP, FORMERR, ...);
    `records` are the rdata of the asked type at the end of any CNAME chain. `response` is the reply as a
    dnspython message, parsed from `wire` when first read (a blocklist's NXDOMAIN is never parsed whole).
    """

    __slots__ = ("_response", "ad", "cnames", "error", "name", "rcode", "rdtype", "records", "wire")

    def __init__(
        self,
        name: str,
        rdtype: str,
        rcode: str,
        records: list[Any] | None = None,
        *,
        error: str = "",
        ad: bool = False,
        cnames: list[str] | None = None,
        response: dns.message.Message | None = None,
        wire: bytes = b"",
    ) -> None:
        self.name = name
        self.rdtype = rdtype
        self.rcode = rcode
        self.records: list[Any] = records if records is not None else []
        self.error = error
        self.ad = ad
        self.cnames: list[str] = cnames if cnames is not None else []
        self._response = response
        self.wire = wire

    def __repr__(self) -> str:
        return f"Answer({self.name!r}, {self.rdtype!r}, {self.rcode!r}, texts={self.texts!r})"

    @property
    def response(self) -> dns.message.Message | None:
        if self._response is None and self.wire:
            self._response = dns.message.from_wire(self.wire, ignore_trailing=True)
        return self._response

    @property
    def ok(self) -> bool:
        return self.rcode == "NOERROR" and bool(self.records)

    @property
    def failed(self) -> bool:
        """True when the DNS did not give an answer at all: nothing may be concluded from it."""
        return self.rcode not in ANSWERED

    @property
    def texts(self) -> list[str]:
        """The records as text, built on each call: only what a report shows pays for it."""
        if self.rdtype in ("TXT", "SPF"):
            return [b"".join(r.strings).decode("utf-8", "replace") for r in self.records]
        return [r.to_text() for r in self.records]

    def evidence(self, note: str = "") -> Evidence:
        return Evidence(
            query=f"{self.name} {self.rdtype}",
            answer=self.texts,
            rcode=self.rcode,
            note=note or self.error,
        )
