"""tls-rpt: the SMTP TLS Reporting record (RFC 8460) of the sending domain and of the recipient domain.

With a record at `_smtp._tls.<domain>`, senders that apply MTA-STS or DANE mail a daily report of the TLS
failures they met on the way to that domain: the one place an operator learns that mail to them was refused
for TLS reasons. For the recipient domain it says where such failures are reported; for the sending domain it
is the sender's own inbound hardening. The record is asked through the run's DNS layer and parsed by
checkdmarc's parser (syntax, `rua` URIs).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from mxprobe.checks import Context
from mxprobe.checks.mta_sts import Finding, combine, domains, in_thread, txt_records
from mxprobe.model import CheckResult, Status

_RECORD = re.compile(r"v=TLSRPTv1[ \t]*;")


async def run(ctx: Context) -> CheckResult:
    pairs = domains(ctx)
    if not pairs:
        return CheckResult("tls-rpt", Status.SKIP, "no sending or recipient domain given")
    findings = await asyncio.gather(*(_check_domain(ctx, d, role) for d, role in pairs))
    return combine("tls-rpt", list(findings))


async def _check_domain(ctx: Context, domain: str, role: str) -> Finding:
    name = f"_smtp._tls.{domain}"
    answer, records = await txt_records(ctx, name, _RECORD)
    found = Finding(domain, role, Status.PASS, "", evidence=[answer.evidence()])
    if answer.failed:
        found.status, found.text = Status.ERROR, f"{name} TXT: {answer.error or answer.rcode}"
        found.fixes.append("The DNS did not answer: check --nameserver and --timeout.")
        return found
    if not records:
        found.status, found.text = (
            Status.SKIP,
            "no TLS-RPT record (TLS failures on the way to it go unreported)",
        )
        found.details["published"] = False
        return found
    found.details.update(published=True, record=records[0])
    if len(records) > 1:
        found.status, found.text = Status.WARN, f"{len(records)} TLS-RPT records: senders send no report"
        found.fixes.append(f"Keep one v=TLSRPTv1 record at {name} (RFC 8460 3).")
        return found
    parsed = await in_thread(_parse, records[0])
    if isinstance(parsed, str):
        found.status, found.text = Status.WARN, f"invalid TLS-RPT record, senders ignore it: {parsed}"
        found.fixes.append(f"Fix the record at {name}: v=TLSRPTv1; rua=mailto:tls-reports@{domain}")
        return found
    rua, warnings = parsed
    found.details.update(rua=rua, warnings=warnings)
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
