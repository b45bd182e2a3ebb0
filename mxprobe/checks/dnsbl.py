"""`dnsbl`: is the sending IP on the IP blocklists that receivers consult? (zones: checks/dnsbl.toml)

The rules (refusal codes, answers outside 127/8, canaries, broken zones) live in the mxprobe.blocklists
package, shared with the `dbl` check, so an IP and a domain are judged the same way.
"""

from __future__ import annotations

from mxprobe import blocklists
from mxprobe.checks import Context
from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId

CHECK_ID = CheckId.DNSBL
DnsblDetails = blocklists.ListDetails  # the shape of this check's details (published in the JSON Schema)


async def run(ctx: Context) -> CheckResult:
    ip = ctx.target.ip
    if ip is None:
        return CheckResult(CHECK_ID, Status.SKIP, "no sending IP to check (give --ip)")
    why_not = blocklists.unlistable(ip)
    if why_not:
        return CheckResult(
            CHECK_ID,
            Status.SKIP,
            why_not,
            fix="Give the public address your mail leaves from (--ip): receivers see that one, not this one.",
        )
    return await blocklists.check(ctx, CHECK_ID, "ip", [blocklists.Subject(blocklists.plain_ip(ip))])
