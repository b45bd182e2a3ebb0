"""What to do about a handshake that got no usable reply (a fault) or a failed STARTTLS, in the run's facts.

Each fix names what the run knows (the server and its address, the sending IP, the HELO name, the recipient)
and who must act. The command to check again is `mxprobe SENDING-DOMAIN --to ADDRESS`: the domain argument
is always the sender's; the recipient's MX is found from the address.
"""

from __future__ import annotations

from mxprobe.smtp.result import TLS, SmtpResult, Step


def rerun(result: SmtpResult) -> str:
    """The command that runs this handshake again, with the run's facts."""
    parts = ["mxprobe"]
    if result.sender_domain:
        parts.append(result.sender_domain)
    if result.ip:
        parts += ["--ip", result.ip]
    if result.mx_given:
        parts += ["--mx", f"{result.mx_given}:{result.port}"]
    if result.recipients:
        parts += ["--to", result.recipients[0]]
    return "`" + " ".join(parts) + "`"


def postmaster(result: SmtpResult) -> str:
    """Who runs the receiving server: its postmaster (RFC 5321 §4.5.1), at the recipient's domain."""
    domain = result.domain or (result.recipients[0].rpartition("@")[2] if result.recipients else "")
    return f"postmaster@{domain}" if domain and not domain.startswith("[") else "the receiver's postmaster"


def _sender(result: SmtpResult) -> str:
    ip = result.source or result.ip
    return f"{ip}" + (f" (HELO {result.helo})" if result.helo else "") if ip else "this host"


def fault_fix(result: SmtpResult, step: Step) -> str:
    """The fix for the fault that decided the outcome."""
    where, again = result.where(), rerun(result)
    fault = step.fault
    if fault == "timeout" and step.step == "connect":
        return (
            f"Nothing answered the TCP connection to {where} from {_sender(result)}: outbound port "
            f"{result.port} is likely blocked on the way (most clouds and home ISPs block port 25). Run "
            f"{again} from the sending server itself, or ask this network's provider to lift the block."
        )
    if fault == "timeout" and step.step == "banner":
        return (
            f"{where} accepted the connection but sent no greeting to {_sender(result)}: a tarpit that "
            "delays clients it distrusts (a missing PTR, a listed IP) or a busy server, not a blocked port. "
            f"Check the sending IP with {again} (ptr, fcrdns, dnsbl); raise --smtp-timeout to see whether "
            "a greeting comes."
        )
    if fault == "timeout":
        return (
            f"{where} stopped answering at {step.step.upper()}: a tarpit delaying {_sender(result)}, or a "
            f"busy server. Raise --smtp-timeout and run {again} again."
        )
    if fault in ("too-long", "bad-reply", "unexpected", "not-smtp") and result.host is not None:
        return (
            f"{where} breaks the SMTP protocol (RFC 5321): its operator ({postmaster(result)}) must fix it; "
            "nothing on the sender's side can."
        )
    return _FIXES.get(fault, "").format(where=where, again=again, sender=_sender(result), port=result.port)


_FIXES = {
    "refused": "Nothing accepts SMTP on {where}: check the recipient's MX records (run {again}) or the --mx "
    "host and port.",
    "unreachable": "{where} cannot be reached from {sender}: check this host's routing (an MX reached only "
    "over IPv6 needs IPv6 here), then run {again}.",
    "disconnected": "{where} hung up without a reply: an overloaded server, or one refusing {sender}. Run "
    "{again} again; if it keeps hanging up, check the sending IP's reputation (ptr, dnsbl).",
    "deadline": "Raise --timeout: the run's deadline ended the wait; then run {again}.",
    "not-smtp": "Another service answers at {where}: check --mx and --port (SMTP is on 25; 587 and 465 are "
    "submission, 465 with --tls).",
    TLS: "The TLS handshake with {where} failed on the receiver's side: its operator must fix its "
    "certificate or TLS settings.",
    "smtputf8": "Use an ASCII address: {where} cannot take an internationalized one (no SMTPUTF8).",
    "auth": "Use the submission port (587, or 465 with --tls) of a server whose certificate verifies.",
}


def tls_fix(result: SmtpResult) -> str:
    """STARTTLS offered, then refused (454) or its handshake failed: the receiver's fault, not the sender."""
    tls = result.tls
    refused = tls is not None and tls.error.startswith("STARTTLS was refused")
    what = (
        "offers STARTTLS and then refuses it" if refused else "offers STARTTLS and then fails the handshake"
    )
    return (
        f"The problem is on the receiver's side: {result.where()} {what} (its certificate or key cannot be "
        f"used). Tell {postmaster(result)}. Until it is fixed, senders that require TLS (MTA-STS, DANE) hold "
        f"mail for it and others deliver in clear; check again with {rerun(result)}."
    )


def no_starttls_fix(result: SmtpResult) -> str:
    """No STARTTLS offered: only the receiver can change that."""
    return (
        f"Only the receiver can fix this: {postmaster(result)} must enable STARTTLS on {result.where()} "
        "(Postfix: smtpd_tls_security_level = may); until then mail to it travels in clear text."
    )


def starttls_diagnosis(result: SmtpResult, step: Step) -> str:
    """The diagnosis of a refused STARTTLS: the receiver's problem, which no check of the sender proves."""
    return (
        f"the receiver's TLS is broken: {result.where()} advertised STARTTLS and answered it with "
        f"{step.code}; nothing on the sending side ({_sender(result)}) causes or fixes this"
    )
