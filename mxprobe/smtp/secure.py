"""STARTTLS and AUTH on an open dialogue.

STARTTLS (RFC 3207): after the 220, nothing may be left unread (plain-text bytes then would be read as if
they came inside TLS: the "STARTTLS injection" of CVE-2011-0411, from the other side); the certificate is
read from the live session and judged in a thread (`tls.examine_safely`). A refusal (454) lets the dialogue
go on in clear; a failed TLS handshake ends this connection, and the dialogue starts again without STARTTLS,
as opportunistic-TLS senders do.

AUTH (RFC 4954): PLAIN, else LOGIN, and only over TLS whose certificate verifies: a password must not go
to whoever answers. What is sent with the password is recorded as `********` (`Secrets`).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Literal

from mxprobe.smtp.exchange import Exchange
from mxprobe.smtp.result import TLS
from mxprobe.smtp.scrub import REDACTED
from mxprobe.smtp.tls import TlsInfo, dialogue_context, examine_safely, read_session

Upgrade = Literal["secured", "clear", "retry", "stop"]


async def starttls(ex: Exchange, host: str) -> Upgrade:
    """STARTTLS and the TLS handshake: "secured" done, "clear" refused (go on without), "retry" the handshake
    failed (reconnect without STARTTLS), "stop" the dialogue is over."""
    info = ex.result.tls
    assert info is not None and ex.conn is not None
    info.mode = "starttls"
    step = await ex.command("starttls", "STARTTLS")
    if step.fault in ("timeout", "disconnected"):
        step.fault = TLS
        step.error = (
            f"no reply to STARTTLS: {step.error}"
            if step.error.startswith("no ")
            else "the server closed the connection after STARTTLS, before any TLS handshake"
        )
        info.error = step.error
        return _retry(ex)
    if step.fault or step.code is None:
        return "stop"
    if step.code != 220:
        info.error = f"STARTTLS was refused: {step.text}"
        return "clear" if ex.connected else "stop"
    problem = await _handshake(ex, host)
    if problem:
        step.fault, step.error = TLS, f"the TLS handshake failed: {problem}"
        info.error = step.error
        ex.close()
        return _retry(ex)
    return "secured"


async def _handshake(ex: Exchange, host: str) -> str:
    """The TLS handshake after a 220; "" when it succeeded, else why it failed."""
    assert ex.conn is not None
    waiting = ex.conn.waiting()
    if waiting:
        shown = ex.secrets.scrub(waiting[:60].decode("utf-8", "replace"))
        return (
            f"the server sent {len(waiting)} bytes of plain text after its 220 instead of a TLS handshake "
            f"('{shown}')"
        )
    timeout = ex.budget()
    try:
        await ex.conn.start_tls(dialogue_context(), host, timeout)
    except TimeoutError:
        return f"no TLS handshake within {timeout:.1f} s"
    except (OSError, ssl.SSLError) as exc:
        return ssl_reason(exc)
    return ""


def ssl_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return getattr(exc, "reason", None) or str(exc)
    if isinstance(exc, ConnectionError):
        return "the server reset the connection during the TLS handshake"
    return str(exc) or type(exc).__name__


def _retry(ex: Exchange) -> Upgrade:
    return "retry" if ex.ctx.dns.deadline.remaining() > 0 else "stop"


def established(ex: Exchange) -> asyncio.Task[None]:
    """Read the session's facts now; judge the certificate in a thread (the task)."""
    assert ex.result.tls is not None and ex.conn is not None
    info: TlsInfo = ex.result.tls
    read_session(info, ex.conn.ssl_object())
    return asyncio.ensure_future(asyncio.to_thread(examine_safely, info))


async def auth(ex: Exchange, methods: list[str], tls_check: asyncio.Task[None] | None) -> None:
    """AUTH PLAIN or LOGIN with the --auth credentials, when the connection is fit for a password."""
    user = ex.secrets.user
    ex.result.auth = {"user": user, "mechanism": None, "accepted": False}
    problem = await _unfit(ex, methods, tls_check)
    if problem:
        ex.fail(ex.begin("auth", "AUTH"), "auth", problem)
        return
    mechanism = "plain" if "plain" in methods else "login"
    ex.result.auth["mechanism"] = mechanism.upper()
    if mechanism == "plain":
        step = await ex.command("auth", f"AUTH PLAIN {ex.secrets.plain()}", shown=f"AUTH PLAIN {REDACTED}")
    else:
        step = await ex.command("auth", "AUTH LOGIN")
        for answer in (user, ex.secrets.password):
            if step.code != 334 or step.fault:
                break
            step = await ex.command("auth", ex.secrets.login(answer), shown=REDACTED, secret=True)
    ex.result.auth["accepted"] = step.code == 235 and not step.fault


async def _unfit(ex: Exchange, methods: list[str], tls_check: asyncio.Task[None] | None) -> str:
    info = ex.result.tls
    if info is None or not info.established:
        return "not sent: the connection is not encrypted, and a password is never sent in clear text"
    if tls_check is not None:
        await tls_check
    if not info.verified:
        why = "; ".join(info.problems) or info.unchecked or "it could not be checked"
        return f"not sent: the server's certificate does not verify ({why})"
    if not any(m in methods for m in ("plain", "login")):
        offered = " ".join(methods).upper() or "nothing"
        problem = f"not sent: the server offers no AUTH PLAIN or LOGIN (it offers {offered})"
        if not methods and ex.result.port == 25:
            problem += "; port 25 usually has no AUTH: submission is on port 587 (or 465 with --tls)"
        return problem
    return ""
