"""The live SMTP handshake and its join with the DNS checks.

`handshake(ctx)` talks to the recipient's MX (or --mx) up to RCPT, never DATA, and returns an `SmtpResult`
(the transcript of `Step`s, the TLS facts, the outcome). `join(result, checks)` ties each refusal to the
check that proves its cause and appends the `smtp` and `tls` check results. The scanner runs the handshake
concurrently with the DNS checks and joins once they are all done; `prefetch(ctx)`, called at t = 0,
starts the recipient's MX lookup before anything else. `validate_recipients(to, mx)` refuses recipients
of several domains (each has its own MX) unless --mx names one server for all. The parts are described in
`mxprobe.smtp.session`.
"""

from __future__ import annotations

from mxprobe.smtp.diagnose import join
from mxprobe.smtp.dialogue import RELAY_TEST_ADDRESS
from mxprobe.smtp.mx import prefetch
from mxprobe.smtp.result import Candidate, SmtpResult, Step
from mxprobe.smtp.session import choose_source, handshake, validate_recipients
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
    "prefetch",
    "validate_recipients",
]
