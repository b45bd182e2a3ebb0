"""tls-rpt: the SMTP TLS Reporting record (RFC 8460) of the sending domain and of the recipient domain.

With a record at `_smtp._tls.<domain>`, senders that apply MTA-STS or DANE mail a daily report of the TLS
failures they met on the way to that domain: the one place an operator learns that mail to them was refused
for TLS reasons. For the recipient domain it says where such failures are reported; for the sending domain it
is the sender's own inbound hardening. The record is asked through the run's DNS layer and parsed by
checkdmarc's parser (syntax, `rua` URIs).
"""

from __future__ import annotations

import asyncio
from typing import Any

from mxprobe.checks import Context
from mxprobe.checks.receiver import (
    Finding,
    PolicyRecord,
    ReceiverDetails,
    combine,
    domains,
    in_thread,
    policy_record,
)
from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId

RECORD = PolicyRecord(
    label="TLS-RPT",
    prefix="_smtp._tls",
    version="v=TLSRPTv1",
    rfc="RFC 8460 3",
    absent="no TLS-RPT record (TLS failures on the way to it go unreported)",
    ambiguous="senders send no report",
)

TlsRptDetails = ReceiverDetails  # the details of tls-rpt, per domain


async def run(ctx: Context) -> CheckResult:
    pairs = domains(ctx)
    if not pairs:
        return CheckResult(CheckId.TLS_RPT, Status.SKIP, "no sending or recipient domain given")
    findings = await asyncio.gather(*(_check_domain(ctx, d, role) for d, role in pairs))
    return combine(CheckId.TLS_RPT, list(findings))


async def _check_domain(ctx: Context, domain: str, role: str) -> Finding:
    found, record = await policy_record(ctx, domain, role, RECORD)
    if record is None:
        return found
    parsed = await in_thread(_parse, record)
    if isinstance(parsed, str):
        found.status, found.text = Status.WARN, f"invalid TLS-RPT record, senders ignore it: {parsed}"
        fix = f"Fix the record at _smtp._tls.{domain}: v=TLSRPTv1; rua=mailto:tls-reports@{domain}"
        found.fixes.append(fix)
        return found
    rua, warnings = parsed
    found.details["rua"], found.details["warnings"] = rua, warnings
    found.text = f"reports go to {', '.join(rua)}"
    if warnings:
        found.add(Status.WARN, "; ".join(warnings))
    return found


def _parse(record: str) -> tuple[list[str], list[str]] | str:
    from checkdmarc.smtp_tls_reporting import SMTPTLSReportingError, parse_smtp_tls_reporting_record

    try:
        parsed: dict[str, Any] = dict(parse_smtp_tls_reporting_record(record))
    except SMTPTLSReportingError as exc:
        return str(exc)
    rua = parsed["tags"].get("rua", {}).get("value", [])
    return [str(u) for u in rua], [str(w) for w in parsed.get("warnings", [])]
