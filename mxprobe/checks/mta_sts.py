"""mta-sts: the MTA-STS policy (RFC 8461) of the sending domain and of the recipient domain, and whether the
handshake's TLS would satisfy the recipient's policy.

The policy explains a class of refusals no SMTP reply shows: a sending MTA that honours an `enforce` policy
refuses to deliver (and the mail bounces as "TLS required") when the MX has an invalid certificate, offers no
STARTTLS, or is not one of the policy's `mx:` patterns. The recipient domain is the domain of the first --to,
or else the parent of the --mx host name (a guess, said in the details).

The `_mta-sts` TXT record is asked through the run's DNS layer (exact rcodes, shown as evidence) and parsed
by checkdmarc's record and policy parsers; checkdmarc's own `check_mta_sts` is not used because it always
downloads the policy. The policy file is fetched over HTTPS only with `--fetch` (the probe makes no web
request otherwise), from `https://mta-sts.<domain>/.well-known/mta-sts.txt`: the host name is resolved
through the run's DNS layer and the connection goes to that address, with the name as SNI and Host and a
verifying TLS context (RFC 8461 3.3 requires a valid certificate there), no redirects, its own timeout within
the deadline.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from mxprobe.__about__ import __version__
from mxprobe.checks import Context
from mxprobe.checks.receiver import (
    Finding,
    HandshakeTls,
    PolicyRecord,
    ReceiverDetails,
    combine,
    domains,
    handshake_tls,
    in_thread,
    mx_names,
    policy_record,
)
from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import CheckId

POLICY_PATH = "/.well-known/mta-sts.txt"
FETCH_TIMEOUT = 10.0  # seconds for the whole policy fetch, capped by the run's deadline
POLICY_MAX_BYTES = 64 * 1024  # RFC 8461 3.3: senders may refuse larger policies
DEFAULT_HTTPS_PORT = 443
MtaStsDetails = ReceiverDetails  # the details of mta-sts, per domain
_MX_KEY = "mx"  # not a check id: the policy's key of MX patterns (RFC 8461 §3.2)
RECORD = PolicyRecord(
    label="MTA-STS",
    prefix="_mta-sts",
    version="v=STSv1",
    rfc="RFC 8461 3.1",
    absent="no MTA-STS record (senders may deliver without TLS)",
    ambiguous="senders assume no policy",
)


async def run(ctx: Context) -> CheckResult:
    pairs = domains(ctx)
    if not pairs:
        return CheckResult(CheckId.MTA_STS, Status.SKIP, "no sending or recipient domain given")
    findings = await asyncio.gather(*(_check_domain(ctx, d, role) for d, role in pairs))
    return combine(CheckId.MTA_STS, list(findings))


async def _check_domain(ctx: Context, domain: str, role: str) -> Finding:
    found, record = await policy_record(ctx, domain, role, RECORD)
    if record is None:
        return found
    parsed = await in_thread(_parse_record, record)
    if isinstance(parsed, str):
        found.status, found.text = Status.WARN, f"invalid MTA-STS record, senders ignore it: {parsed}"
        found.fixes.append(f"Fix the record at _mta-sts.{domain}: v=STSv1; id=<1-32 letters or digits>")
        return found
    found.details["id"] = parsed.get("id", "")
    found.text = f"record id={parsed.get('id', '')}"
    if not ctx.options.fetch:
        found.text += "; policy not fetched (give --fetch to download and judge it)"
        found.details["policy"] = None
        return found
    policy = await _fetch_and_parse(ctx, domain, found)
    if policy is None:
        return found
    found.details["policy"] = policy
    mode, patterns = str(policy.get("mode", "")), [str(p) for p in policy.get(_MX_KEY, [])]
    found.text += f"; mode={mode}, mx {', '.join(patterns) or '(none)'}, max_age={policy.get('max_age')}"
    if mode == "none":
        return found
    await _judge_mx_records(ctx, domain, mode, patterns, found)
    if "recipient" in role and ctx.handshake is not None:
        _judge_handshake(await handshake_tls(ctx), mode, patterns, found)
    return found


def _parse_record(record: str) -> dict[str, str] | str:
    from checkdmarc.mta_sts import MTASTSError, parse_mta_sts_record

    try:
        tags: dict[str, str] = parse_mta_sts_record(record)["tags"]
    except MTASTSError as exc:
        return str(exc)
    return tags


def _parse_policy(text: str) -> tuple[dict[str, Any], list[str]] | str:
    from checkdmarc.mta_sts import MTASTSError, parse_mta_sts_policy

    try:
        parsed = parse_mta_sts_policy(text)
    except MTASTSError as exc:
        return str(exc)
    return dict(parsed["policy"]), list(parsed["warnings"])


def _matches(host: str, patterns: list[str]) -> bool:
    """RFC 8461 4.1 matching; checkdmarc is already imported by the record parse when this runs."""
    from checkdmarc.mta_sts import mx_in_mta_sts_patterns

    return bool(mx_in_mta_sts_patterns(host, patterns))


# -- the policy fetch ----------------------------------------------------------------------------------------


class FetchError(Exception):
    """The policy could not be had. `theirs`: the domain's fault (senders then apply no policy), not ours."""

    def __init__(self, message: str, *, theirs: bool) -> None:
        super().__init__(message)
        self.theirs = theirs


@dataclass
class Fetched:
    address: str
    status: int
    content_type: str
    body: bytes


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address resolved by the run's DNS layer, with the host name as SNI, Host and cert name."""

    def __init__(self, host: str, address: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def https_get(host: str, addresses: list[str], port: int, timeout: float) -> Fetched:
    """GET the policy from the first address that connects. Blocking: run it in a thread."""
    context = ssl.create_default_context()
    errors: list[str] = []
    for address in addresses:
        conn = _PinnedHTTPSConnection(host, address, port, timeout, context)
        try:
            conn.request(
                "GET", POLICY_PATH, headers={"User-Agent": f"mxprobe/{__version__}", "Accept": "text/plain"}
            )
            response = conn.getresponse()
            body = response.read(POLICY_MAX_BYTES + 1)
            return Fetched(address, response.status, response.getheader("Content-Type") or "", body)
        except ssl.SSLCertVerificationError as exc:
            raise FetchError(
                f"the certificate of {host} is not valid ({exc.verify_message}): senders ignore the policy",
                theirs=True,
            ) from None
        except ssl.SSLError as exc:
            raise FetchError(f"TLS with {host} failed: {exc.reason or exc}", theirs=True) from None
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{address}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()
    raise FetchError(f"could not connect to {host}:{port} ({'; '.join(errors)})", theirs=False)


async def fetch_policy(ctx: Context, domain: str) -> tuple[Fetched, list[Evidence]]:
    """Resolve mta-sts.<domain> through the run's DNS layer, then GET the policy over HTTPS in a thread."""
    host = f"mta-sts.{domain}"
    a, aaaa = await ctx.dns.addresses(host)
    evidence = [a.evidence(), aaaa.evidence()]
    addresses = a.texts + aaaa.texts
    if not addresses:
        if a.failed and aaaa.failed:
            raise FetchError(f"{host} did not resolve: {a.error or a.rcode}", theirs=False)
        raise FetchError(f"{host} has no A or AAAA record: senders cannot fetch the policy", theirs=True)
    port = int(getattr(ctx.options, "https_port", DEFAULT_HTTPS_PORT))
    timeout = ctx.dns.deadline.cap(FETCH_TIMEOUT)
    if timeout <= 0:
        raise FetchError("the run's deadline was reached before the policy fetch", theirs=False)
    try:
        fetched = await asyncio.wait_for(
            asyncio.to_thread(https_get, host, addresses, port, timeout), timeout + 1
        )
    except TimeoutError:
        raise FetchError(f"no answer from https://{host} within {timeout:.1f}s", theirs=False) from None
    return fetched, evidence


async def _fetch_and_parse(ctx: Context, domain: str, found: Finding) -> dict[str, Any] | None:
    url = f"https://mta-sts.{domain}{POLICY_PATH}"
    try:
        fetched, evidence = await fetch_policy(ctx, domain)
    except FetchError as exc:
        found.status = Status.WARN if exc.theirs else Status.ERROR
        found.text += f"; policy fetch failed: {exc}"
        found.evidence.append(Evidence(url, [], "ERROR", note=str(exc)))
        found.fixes.append(
            f"Serve the policy at {url} with a valid certificate (RFC 8461 3.3)."
            if exc.theirs
            else "Check that this host can reach HTTPS (port 443) and the DNS, then run again."
        )
        return None
    found.evidence += evidence
    text = fetched.body.decode("utf-8", "replace")
    note = f"HTTP {fetched.status} from {fetched.address}, Content-Type {fetched.content_type or '(none)'}"
    found.evidence.append(
        Evidence(url, text.splitlines(), "NOERROR" if fetched.status == 200 else "ERROR", note)
    )
    if fetched.status != 200:
        found.add(
            Status.WARN,
            f"policy fetch answered HTTP {fetched.status}: senders apply no policy",
            f"Serve {url} with HTTP 200, without redirects (RFC 8461 3.3).",
        )
        return None
    if len(fetched.body) > POLICY_MAX_BYTES:
        found.add(Status.WARN, "policy larger than 64 KiB: senders may refuse it", f"Shorten {url}.")
        return None
    if fetched.content_type.split(";")[0].strip().lower() != "text/plain":
        found.add(
            Status.WARN,
            f"policy served as {fetched.content_type or 'no Content-Type'}, not text/plain",
            f"Serve {url} as text/plain (RFC 8461 3.2).",
        )
    parsed = await in_thread(_parse_policy, text)
    if isinstance(parsed, str):
        found.add(Status.WARN, f"invalid policy, senders ignore it: {parsed}", f"Fix the policy at {url}.")
        return None
    policy, warnings = parsed
    if warnings:
        found.details["policy_warnings"] = warnings
    return policy


# -- judging MX records and the handshake against the policy -------------------------------------------------


def _severity(mode: str) -> Status:
    """enforce: senders refuse to deliver; testing: they deliver and only report (TLS-RPT)."""
    return Status.FAIL if mode == "enforce" else Status.WARN


async def _judge_mx_records(
    ctx: Context, domain: str, mode: str, patterns: list[str], found: Finding
) -> None:
    answer = await ctx.dns.query(domain, "MX")
    found.evidence.append(answer.evidence())
    outside = [h for h in mx_names(answer) if not _matches(h, patterns)]
    if outside:
        found.add(
            _severity(mode),
            f"MX {', '.join(outside)} not covered by the policy's mx patterns",
            f"Add the MX hosts to the mx: lines of the MTA-STS policy of {domain}, or change the MX records.",
        )


def _judge_handshake(tls: HandshakeTls | None, mode: str, patterns: list[str], found: Finding) -> None:
    if tls is None:
        found.text += "; the handshake reached no MX, so its TLS could not be judged"
        return
    info, mx = tls.info, tls.host or "the MX"
    problems: list[str] = []
    if not tls.host:
        problems.append("the handshake went to an address, not an MX name, so the mx patterns cannot match")
    elif not _matches(tls.host, patterns):
        problems.append(f"{tls.host} is not covered by the policy's mx patterns")
    if not info.offered:
        problems.append(f"{mx} does not offer STARTTLS")
    elif not info.established:
        problems.append(f"TLS with {mx} failed: {info.error or 'no handshake'}")
    elif info.verified is False:
        problems.append(f"its certificate is not valid: {', '.join(info.problems) or 'invalid'}")
    elif info.verified is None:
        found.add(Status.ERROR, f"the certificate of {mx} could not be judged: {info.unchecked}")
        return
    found.details["handshake"] = {"host": tls.host, "problems": problems}
    if not problems:
        found.text += f"; the handshake with {tls.host} meets the policy"
        return
    consequence = (
        "senders enforcing it refuse to deliver" if mode == "enforce" else "senders report it (testing)"
    )
    found.add(
        _severity(mode),
        f"the handshake breaks the {mode} policy ({'; '.join(problems)}): {consequence}",
        "Give the MX a certificate from a public CA valid for its MX name, offer STARTTLS, and list every MX "
        "in the policy's mx: lines.",
    )
