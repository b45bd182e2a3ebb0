"""`dbl`: are the sending domain, the HELO name or the PTR name on the domain blocklists (Spamhaus DBL, URIBL,
SURBL ...)? Receivers check all three: a clean IP with a listed HELO or rDNS domain is still refused.

The rules are the `dnsbl` check's (the mxprobe.blocklists package); this module only gathers the names.
"""

from __future__ import annotations

from mxprobe import blocklists
from mxprobe import target as validate
from mxprobe.checks import Context
from mxprobe.errors import InputError
from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId

CHECK_ID = CheckId.DBL
DblDetails = blocklists.ListDetails  # the shape of this check's details (published in the JSON Schema)


async def run(ctx: Context) -> CheckResult:
    t = ctx.target
    if not t.domain:
        return CheckResult(CHECK_ID, Status.SKIP, "no sending domain to check")
    subjects: dict[str, blocklists.Subject] = {}
    notes: list[str] = []

    def add(name: str, source: str) -> None:
        subject = subjects.setdefault(name, blocklists.Subject(name))
        if source not in subject.sources:
            subject.sources.append(source)

    add(t.domain, "domain")
    if t.mail_from:
        sender = validate.domain_of(t.mail_from)
        if sender and not sender.startswith("["):
            add(sender, "from")
    helo = await ctx.helo()
    if helo and not helo.startswith("["):
        add(helo, CheckId.HELO)
    if t.ip:
        ptr = await ctx.dns.ptr(t.ip)  # the scanner asked it already: the run's cache answers
        if ptr.failed:
            notes.append(f"the PTR name of {t.ip} was not checked: its lookup failed ({ptr.rcode})")
        for text in ptr.texts if ptr.ok else []:
            try:
                add(validate.domain(text, "PTR name"), CheckId.PTR)
            except InputError as exc:
                notes.append(f"the PTR name {text!r} was not checked: {exc}")
    return await blocklists.check(ctx, CHECK_ID, "domain", list(subjects.values()), notes)
