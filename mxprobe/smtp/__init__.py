"""The live SMTP handshake and its join with the DNS checks.

`handshake(ctx)` talks to the recipient's MX (or --mx) up to RCPT, never DATA, and returns an `SmtpResult`
(the transcript of `Step`s, the TLS facts, the outcome). `join(result, checks)` ties each refusal to the
check that proves its cause and appends the `smtp` and `tls` check results. The scanner runs the handshake
concurrently with the DNS checks and joins once they are all done. `validate_recipients(to, mx)` refuses
recipients of several domains (each has its own MX) unless --mx names one server for all.
"""

from __future__ import annotations

from mxprobe.smtp.diagnose import join
from mxprobe.smtp.session import (
    RELAY_TEST_ADDRESS,
    Candidate,
    SmtpResult,
    Step,
    choose_source,
    handshake,
    validate_recipients,
)
from mxprobe.smtp.tls import TlsInfo

__all__ = [
    "RELAY_TEST_ADDRESS",
    "Candidate",
    "SmtpResult",
    "Step",
    "TlsInfo",
    "choose_source",
    "handshake",
    "join",
    "validate_recipients",
]
