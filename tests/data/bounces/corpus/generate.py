# ruff: noqa: E501  (data: reply texts and message layouts are kept whole, one a line)
"""Writes the bounce corpus: one message per case, labels.toml (the expected kind and causes per recipient).

Run from this directory: `python generate.py`. The messages are committed; this script documents how they
were made. The replies are written in the shapes receivers use (see SOURCES.md for each format's source).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import formats as fm
from build import Case, Failure

HERE = Path(__file__).parent
IP = "203.0.113.45"
S = "sam@sender.example"

# Receivers' replies, by the cause(s) an expert accepts for them.
REPLIES: dict[tuple[str, ...], list[str]] = {
    ("recipient",): [
        "550 5.1.1 <{r}>: Recipient address rejected: User unknown in virtual mailbox table",
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the "
        "recipient's email address for typos or\n550-5.1.1 unnecessary spaces. For more information, go to\n"
        "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si123456wrb.12 - gsmtp",
        "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302) [AM4PEPF00027A6C.eurprd04.prod.outlook.com]",
        "554 delivery error: dd This user doesn't have a yahoo.com account ({r}) [0] - mta1042.mail.gq1.yahoo.com",
        "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
        "550 Message was not accepted -- invalid mailbox.  Local mailbox {r} is unavailable: user not found",
        "550 5.1.1 <{r}>... User unknown",
        "550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550 [yV0aKq3hN1aWz8bUe6sC9g.uk43]",
        "550 5.1.1 <{r}>: Recipient address rejected: Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]",
        "552 1 Requested mail action aborted, mailbox not found",
        "511 sorry, no mailbox here by that name (#5.1.1 - chkuser)",
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DM6NAM11FT033.eop-nam11.prod.protection.outlook.com]",
        "550 No such user ({r})",
        "550 Mailbox not found or access denied",
    ],
    ("mailbox", "recipient"): [
        "550 5.2.1 The email account that you tried to reach is disabled. Learn more at https://support.google.com/mail/?p=DisabledUser",
        "554 30 Sorry, your message to {r} cannot be delivered. This mailbox is disabled (554.30).",
        "550 5.2.1 <{r}>: Recipient address rejected: User account disabled",
    ],
    ("mailbox",): [
        "452-4.2.2 The email account that you tried to reach is over quota. Please direct\n"
        "452 4.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaTemp d2si9 - gsmtp",
        "552 5.2.2 <{r}>: Recipient address rejected: Mailbox full",
        "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
        "552 5.2.2 Quota exceeded (mailbox for user is full)",
    ],
    ("blocklist",): [
        "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{ip}",
        "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet service provider since "
        "part of their network is on our block list (S3150). You can also refer your provider to "
        "http://mail.live.com/mail/troubleshooting.aspx#errors. [AM2PEPF0001C70F.eurprd05.prod.outlook.com]",
        "554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip={ip}",
        "554 IP={ip} - A problem occurred. (Ask your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (BL)",
        "550 Service unavailable; Client host [{ip}] blocked using Barracuda Reputation; "
        "http://www.barracudanetworks.com/reputation/?pr=1&ip={ip}",
        "554 5.7.1 Service unavailable; Client host [{ip}] blocked using bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?{ip}",
    ],
    ("blocklist", "reputation"): [
        "550 mwinf5c07 ME Adresse IP source bloquee pour cause de spam. Blocked source IP address for spam reasons. OFR004_104 [104]",
        "553 5.7.2 [TSS09] All messages from {ip} will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes",
    ],
    ("ptr",): [
        "450 4.7.1 Client host rejected: cannot find your reverse hostname, [{ip}]",
        "550 5.7.1 Client host rejected: cannot find your hostname, [{ip}]",
        "550-5.7.25 [{ip}] The IP address sending this message does not have a\n550-5.7.25 PTR record setup, or the "
        "corresponding forward DNS entry does not\n550-5.7.25 point to the sending IP. As a policy, Gmail does not accept "
        "messages\n550 5.7.25 from IPs with missing PTR records. x3si1 - gsmtp",
        "421 Refused. You have no reverse DNS entry.",
        "554 5.7.1 Bad DNS PTR resource record.",
        "550 5.7.1 IP name lookup failed [{ip}]",
    ],
    ("dmarc", "spf", "dkim"): [
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n550-5.7.26 Gmail requires all "
        "senders to authenticate with either SPF or DKIM.\n550-5.7.26\n550-5.7.26  Authentication results:\n"
        "550-5.7.26  DKIM = did not pass\n550-5.7.26  SPF [sender.example] with ip: [{ip}] = did not pass\n"
        "550 5.7.26 For instructions on setting up authentication, go to https://support.google.com/mail/answer/81126 - gsmtp",
        "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to "
        "authenticate with either SPF or DKIM.",
        "550 5.7.515 Access denied, sending domain [SENDER.EXAMPLE] doesn't meet the required authentication level.",
    ],
    ("spf",): [
        "550 5.7.23 The message was rejected because of Sender Policy Framework violation",
        "550 5.7.23 <{r}>: Recipient address rejected: Message rejected due to: SPF fail - not authorized. Please see "
        "http://www.open-spf.net/Why?s=mfrom;id=sam@sender.example;ip={ip};r=<UNKNOWN>",
    ],
    ("dmarc",): [
        "550 5.7.509 Access denied, sending domain [SENDER.EXAMPLE] does not pass DMARC verification and has a DMARC policy of reject.",
        "550 5.7.1 Email rejected per DMARC policy for sender.example",
    ],
    ("content",): [
        "550 5.7.1 Message content rejected, UBE, id=12345-06",
        "554 5.7.1 The message was rejected because it contains prohibited virus or spam content",
        "550 spam message rejected. Please visit https://help.mail.ru/notspam-support/id?c=AbCd or report details to "
        "abuse@corp.mail.ru. Error code: 1234. ID: 5678.",
        "554 5.7.1 [P4] Message blocked due to spam content in the message.",
        "554 5.6.0 Message contains a virus (Eicar-Test-Signature)",
        "552-5.7.0 This message was blocked because its content presents a potential\n552-5.7.0 security issue. "
        "Please visit\n552 5.7.0  https://support.google.com/mail/?p=BlockedMessage z9si1 - gsmtp",
    ],
    ("rate", "reputation"): [
        "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user complaints - "
        "4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        "421 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP reputation.",
    ],
    ("rate",): [
        "421 mwinf5c79 ME Trop de connexions, veuillez verifier votre configuration. Too many connections, slow down. OFR005_104 [104]",
        "450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages "
        "from being delivered. Please resend your message at a later time.",
        "452 4.5.3 Too many recipients received this hour",
    ],
    ("size",): [
        "552 5.3.4 Message size exceeds fixed limit",
        "552-5.2.3 Your message exceeded Google's message size limits. Please visit\n552 5.2.3  "
        "https://support.google.com/mail/?p=MaxSizeError to view our size guidelines. q1si2 - gsmtp",
        "552 5.3.4 Message too big for system",
    ],
    ("relay",): [
        "554 5.7.1 <{r}>: Relay access denied",
        "550 5.7.1 Unable to relay for {r}",
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        "550 5.7.64 TenantAttribution; Relay Access Denied [SN1NAM02FT012.eop-nam02.prod.protection.outlook.com]",
    ],
    ("greylist",): [
        "450 4.2.0 <{r}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/dest.example.html",
        "451 4.7.1 Greylisting in action, please come back later",
    ],
    ("tls",): [
        "530 5.7.0 Must issue a STARTTLS command first",
        "554 5.7.5 TLS is required for this domain: REQUIRETLS",
    ],
    ("auth",): [
        "530 5.7.57 Client not authenticated to send mail. [BN9PR03CA0123.namprd03.prod.outlook.com]",
        "553 5.7.1 <{r}>: Sender address rejected: not logged in",
    ],
    ("sender",): [
        "553 5.1.8 <sam@sender.example>: Sender address rejected: Domain not found",
        "550 5.1.0 <sam@sender.example> sender rejected",
        "550 5.7.1 Unroutable sender address",
    ],
    ("loop",): [
        "554 5.4.6 Too many hops",
        "554 5.4.14 Hop count exceeded - possible mail loop ATTR34 [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]",
    ],
    ("server",): [
        "451 4.3.0 Temporary system failure. Please try again later.",
        "452 4.3.1 Insufficient system storage",
        "451 4.3.5 Server configuration problem",
    ],
    ("policy", "spf", "dmarc"): [
        "550 Rejected by header based Anti-Spoofing policy: sam@sender.example - https://community.mimecast.com/docs/DOC-1369#550",
    ],
    ("policy", "content", "reputation", "dmarc"): [
        "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes",
    ],
}
# What a reporting system writes when it got no reply (no code): its own words, by accepted cause(s).
PROSE: dict[tuple[str, ...], list[str]] = {
    ("recipient",): [
        "Sorry, no mailbox here by that name. (#5.1.1)",
        "Sorry, I couldn't find any host named nowhere.example. (#5.1.2)",
        "Host or domain name not found. Name service error for name=nowhere.example type=A: Host not found",
        "Unrouteable address",
        "all relevant MX records point to non-existent hosts",
        "DNS Error: DNS type 'mx' lookup of nowhere.example responded with code NXDOMAIN Domain name not found: nowhere.example",
        "The e-mail account does not exist at the organization this message was sent to.  Check the e-mail address, "
        "or contact the recipient directly to find out the correct address.",
        "user not found",
        "User Robin Reader ({r}) not listed in Domino Directory",
        "Unknown Recipient",
        "The email address you entered couldn't be found. Please check the recipient's email address and try to resend the message.",
    ],
    ("mailbox",): [
        "user is over quota",
        "The recipient's mailbox is full and can't accept messages now. Please try resending this message later, or contact the recipient directly.",
        "As their mailbox is full.",
        "mailbox is full: retry timeout exceeded",
    ],
    ("network",): [
        "connect to mx.slow.example[198.51.100.50]:25: Connection timed out",
        "retry timeout exceeded",
        "delivery temporarily suspended: connect to mx.slow.example[198.51.100.50]:25: Connection refused",
        "Message could not be delivered for 5 days. Message will be deleted from queue",
        "The recipient server did not accept our requests to connect. Learn more at https://support.google.com/mail/answer/7720 "
        "[mx.slow.example. 198.51.100.50: timed out]",
    ],
    ("loop",): [
        "mail forwarding loop for {r}",
        "This message is looping: it already has my Delivered-To line. (#5.4.6)",
        "Error transferring to relay.dest.example; Maximum hop count exceeded.  Message probably in a routing loop.",
    ],
    ("tls",): ["Cannot start TLS: handshake failure"],
    ("recipient", "policy"): [
        "We're writing to let you know that the group you tried to contact (sales-team) may not exist, or you may "
        "not have permission to post messages to the group. A few more details on why you weren't able to post: "
        "* You might have spelled or formatted the group name incorrectly. * The owner of the group may have removed "
        "this group. * You may need to join the group before receiving permission to post. * This group may not be "
        "open to posting. If you have questions related to this or any other Google Group, visit the Help Center at "
        "https://groups.google.com/support/.",
    ],
    ("content",): ["Message content rejected", "Message contains spam (score 12.7 above threshold)"],
    ("server",): ["255"],
}

ZH = {  # NetEase/QQ/Sina/Aliyun words for the cause (their own, in Chinese), by accepted cause(s)
    ("recipient",): "收件人不存在，请检查收件人地址是否正确",
    ("blocklist",): "对方服务器拒绝接收您的邮件（收件人服务器认为发信IP在黑名单中）",
    ("mailbox",): "收件人邮箱已满，无法接收新邮件",
    ("content",): "邮件被对方服务器判定为垃圾邮件",
    ("spf",): "发信域名的SPF验证失败",
}
FRIENDLY = {  # Exchange's words for people, next to the reply
    "recipient": "The email address you entered couldn't be found. Please check the recipient's email address and try to resend the message.",
    "mailbox": "The recipient's mailbox is full and can't accept messages now.",
}

_counter = itertools.count()


def pick(pool: dict[tuple[str, ...], list[str]], key: tuple[str, ...]) -> str:
    items = pool[key]
    return items[next(_counter) % len(items)]


def reply(key: tuple[str, ...], rcpt: str, remote: str = "mx.dest.example", **kw: str) -> Failure:
    text = pick(REPLIES, key).format(r=rcpt, ip=IP)
    return Failure(rcpt, text, key, remote=remote, **kw)


def prose(key: tuple[str, ...], rcpt: str, status: str = "", **kw: str) -> Failure:
    return Failure(rcpt, "", key, prose=pick(PROSE, key).format(r=rcpt, ip=IP), status=status, **kw)


KEYS = list(REPLIES)


def rotating(offset: int, n: int) -> list[tuple[str, ...]]:
    return [KEYS[(offset + i * 5) % len(KEYS)] for i in range(n)]


def reply_cases(fmt: int, n: int = 4, domain: str = "dest.example") -> list[Case]:
    cases = []
    for i, key in enumerate(rotating(fmt * 3, n)):
        failures = [reply(key, f"user{i}@{domain}", remote=f"mx{i}.{domain}")]
        if i == 1:  # a second recipient in the same bounce
            other = KEYS[(fmt + 7) % len(KEYS)]
            failures.append(reply(other, f"second{i}@other-{domain}", remote=f"mx.other-{domain}"))
        cases.append(Case(S, failures))
    return cases


def plan() -> dict[str, tuple[object, list[Case]]]:
    p: dict[str, tuple[object, list[Case]]] = {}
    names = ["postfix", "exim", "sendmail", "qmail", "courier", "exchange2010", "exchange2000", "gmail", "yahoo",
             "aol", "gmx", "mailru", "zoho", "orange", "docomo", "softbank", "mcafee", "messaging_server",
             "mdaemon", "opensmtpd", "amazon_ses", "rfc3464", "broken_mime"]  # fmt: skip
    for index, name in enumerate(names):
        p[name] = (getattr(fm, name), reply_cases(index, 5 if name in ("postfix", "exim", "rfc3464") else 4))
    p["postfix"][1].extend([
        Case(S, [prose(("network",), "jo@slow.example", status="4.4.1")]),
        Case(S, [prose(("recipient",), "kim@nowhere.example", status="5.4.4")]),
        Case(S, [Failure("lee@dest.example", "", ("loop",), prose="mail forwarding loop for lee@dest.example", status="5.4.6")]),
        Case(S, [prose(("tls",), "tls@strict.example", status="4.7.5")]),
    ])  # fmt: skip
    p["postfix_delay"] = (fm.postfix, [
        Case(S, [reply(("greylist",), "g1@dest.example", action="delayed")], kind="delay"),
        Case(S, [prose(("network",), "jo@slow.example", action="delayed", status="4.4.1")], kind="delay"),
        Case(S, [reply(("rate", "reputation"), "y1@yahoo.example", action="delayed")], kind="delay"),
    ])  # fmt: skip
    p["exim"][1].extend([
        Case(S, [Failure("ann@dest.example", "", ("network",), prose="retry timeout exceeded")]),
        Case(S, [Failure("bo@nowhere.example", "", ("recipient",), prose="Unrouteable address")]),
        Case(S, [Failure("cy@nowhere.example", "", ("recipient",), prose="all relevant MX records point to non-existent hosts")]),
        Case(S, [Failure("di@dest.example", "", ("mailbox",), prose="mailbox is full: retry timeout exceeded")]),
    ])  # fmt: skip
    p["exim_delay"] = (fm.exim, [
        Case(S, [reply(("greylist",), "g2@dest.example", action="delayed")], kind="delay"),
        Case(S, [reply(("server",), "s2@dest.example", action="delayed")], kind="delay"),
    ])  # fmt: skip
    p["sendmail"][1].append(
        Case(S, [Failure("prog@dest.example", "", ("server",), prose="255", status="5.3.0")])
    )
    p["qmail"][1].extend([
        Case(S, [Failure("nob@dest.example", "", ("recipient",), prose="Sorry, no mailbox here by that name. (#5.1.1)")]),
        Case(S, [Failure("x@nowhere.example", "", ("recipient",), prose="Sorry, I couldn't find any host named nowhere.example. (#5.1.2)")]),
        Case(S, [Failure("full@dest.example", "", ("mailbox",), prose="user is over quota")]),
        Case(S, [Failure("loop@dest.example", "", ("loop",), prose="This message is looping: it already has my Delivered-To line. (#5.4.6)")]),
    ])  # fmt: skip
    p["office365"] = (fm.office365, [
        Case(S, [Failure("sam.t@contoso.example", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
                         ("recipient",), prose="sam.t wasn't found at contoso.example.")], mta="AM8PR09MB7712.eurprd09.prod.outlook.com"),
        Case(S, [Failure("ops@fabrikam.example", "550 5.7.509 Access denied, sending domain [SENDER.EXAMPLE] does not pass DMARC verification and has a DMARC policy of reject.",
                         ("dmarc",), prose="Your message wasn't delivered because the recipient's email provider rejected it.")], mta="DM6PR11MB4321.namprd11.prod.outlook.com"),
        Case(S, [Failure("hr@fabrikam.example", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DM6NAM11FT033.eop-nam11.prod.protection.outlook.com]",
                         ("recipient",), prose="Your message couldn't be delivered because the recipient's email system refused it.")], mta="DM6PR11MB4321.namprd11.prod.outlook.com"),
        Case(S, [Failure("big@contoso.example", "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
                         ("mailbox",), prose="The recipient's mailbox is full and can't accept messages now.")], mta="AM8PR09MB7712.eurprd09.prod.outlook.com"),
        Case(S, [Failure("ext@partner.example", "554 5.4.14 Hop count exceeded - possible mail loop ATTR34 [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]",
                         ("loop",), prose="Your message couldn't be delivered because of a mail loop.")], mta="AM0PR01MB1234.eurprd01.prod.exchangelabs.com"),
        Case(S, [Failure("anon@contoso.example", "530 5.7.57 Client not authenticated to send mail. [BN9PR03CA0123.namprd03.prod.outlook.com]",
                         ("auth",), prose="Your message couldn't be delivered because you weren't authenticated.")], mta="BN9PR03CA0123.namprd03.prod.outlook.com"),
    ])  # fmt: skip
    p["outlook_com"] = (fm.office365, [
        Case(S, [Failure(f"friend{i}@hotmail.example", pick(REPLIES, key).format(r=f"friend{i}@hotmail.example", ip=IP), key,
                         prose="Your message wasn't delivered because the recipient's email provider rejected it.")],
             mta="BY5PR04MB7012.namprd04.prod.outlook.com")
        for i, key in enumerate([("recipient",), ("blocklist",), ("rate", "reputation"), ("dmarc", "spf", "dkim")])
    ])  # fmt: skip
    p["exchange2010"][1].extend([
        Case(S, [Failure("walt@corp.example", "", ("recipient",), prose=FRIENDLY["recipient"], status="5.1.1")], mta="EXCH01.corp.example"),
        Case(S, [Failure("vera@corp.example", "", ("mailbox",), prose=FRIENDLY["mailbox"], status="5.2.2")], mta="EXCH01.corp.example"),
    ])  # fmt: skip
    p["exchange2003"] = (fm.exchange2003, [
        Case(S, [prose(("recipient",), "ted@corp2003.example", status="5.1.1")], mta="MAIL01.corp2003.example"),
        Case(S, [prose(("mailbox",), "una@corp2003.example", status="5.2.2")], mta="MAIL01.corp2003.example"),
        Case(S, [prose(("recipient",), "max@corp2003.example", status="5.1.1"), prose(("mailbox",), "liz@corp2003.example", status="5.2.2")],
             mta="MAIL01.corp2003.example"),
    ])  # fmt: skip
    p["notes"] = (fm.notes, [
        Case(S, [Failure("robin@domino.example", "", ("recipient",), prose="User Robin Reader (robin@domino.example) not listed in Domino Directory")], mta="notes1.domino.example"),
        Case(S, [Failure("max@domino.example", "", ("loop",), prose="Error transferring to relay.domino.example; Maximum hop count exceeded.  Message probably in a routing loop.")], mta="notes1.domino.example"),
        Case(S, [Failure("eva@domino.example", "", ("mailbox",), prose="Unable to deliver message: the recipient's mail database is over quota")], mta="notes1.domino.example"),
    ])  # fmt: skip
    p["notes_dsn"] = (fm.notes_dsn, [
        Case(S, [Failure("kai@domino.example", "", ("recipient",), prose="User Kai Keller (kai@domino.example) not listed in Domino Directory", status="5.0.0")], mta="notes2.domino.example"),
        Case(S, [Failure("lou@domino.example", "", ("recipient", "server"), prose="Recipient's Domino Directory entry does not specify a valid Notes mail file", status="5.0.0")], mta="notes2.domino.example"),
    ])  # fmt: skip
    p["gmail"][1].extend([
        Case(S, [Failure("zed@nowhere.example", "", ("recipient",), prose=PROSE[("recipient",)][5], status="5.1.2", remote="")]),
        Case(S, [Failure("jo@slow.example", "", ("network",), prose=PROSE[("network",)][4], status="4.4.1", remote="mx.slow.example")]),
    ])  # fmt: skip
    p["google_groups"] = (fm.google_groups, [
        Case(S, [Failure(f"{g}@googlegroups.example", "", ("recipient", "policy"), prose=PROSE[("recipient", "policy")][0].replace("sales-team", g), status="5.0.0")])
        for g in ("sales-team", "board", "alumni-2019")
    ])  # fmt: skip
    p["au"] = (fm.au, [
        Case(S, [Failure("taro@ezweb.example", "", ("mailbox",), prose="As their mailbox is full.")]),
        Case(S, [Failure("hana@ezweb.example", "", ("recipient",), prose="As their mail address is not valid (user unknown).")]),
    ])  # fmt: skip
    p["barracuda"] = (fm.barracuda, [
        Case(S, [Failure("it@cuda.example", "", ("content",), prose="Message content rejected")]),
        Case(S, [Failure("hr@cuda.example", "", ("content",), prose="Message contains spam (score 12.7 above threshold)")]),
        Case(S, [reply(("blocklist",), "ceo@cuda.example")]),
    ])  # fmt: skip
    p["groupwise"] = (fm.groupwise, [
        Case(S, [Failure("pat@gw.example", "", ("recipient",), prose="user not found")], mta="gw.gw.example"),
        Case(S, [Failure("ron@gw.example", "", ("recipient",), prose="Unknown Recipient"), Failure("sue@gw.example", "", ("recipient",), prose="user not found")], mta="gw.gw.example"),
    ])  # fmt: skip
    for name, zh_fn in (("netease", fm.netease), ("qq", fm.qq), ("sina", fm.sina), ("aliyun", fm.aliyun)):
        cases = []
        for i, key in enumerate(ZH):
            rcpt = f"li{i}@{name}-dest.example"
            f = reply(key, rcpt) if key in REPLIES and i % 2 == 0 else Failure(rcpt, "", key)
            f.prose = ZH[key]
            cases.append(Case(S, [f]))
        p[name] = (zh_fn, cases)
    p["kinds"] = (None, [])
    return p


KIND_CASES = [
    (fm.delivered, "delivery-report", Case(S, [Failure("ok@dest.example", "", ("none",)), Failure("relay@dest.example", "", ("none",))])),
    (fm.auto_reply, "auto-reply", Case(S, [])),
    (fm.vacation, "auto-reply", Case(S, [])),
    (fm.arf, "feedback", Case(S, [])),
]  # fmt: skip
EOL = ["\n", "\n", "\r\n"]  # every third message is written with CRLF, as Windows tools save them


def main() -> None:
    lines = [
        "# Expected results of the bounce corpus (tests/test_bounce_corpus.py); written by generate.py.",
        "",
    ]
    count = 0
    for name, (builder, cases) in plan().items():
        for i, case in enumerate(cases, 1):
            if builder is None:
                continue
            text = builder(case)  # type: ignore[operator]
            fname = f"{name}-{i}.eml"
            (HERE / fname).write_bytes(text.replace("\n", EOL[count % 3]).encode("utf-8"))
            count += 1
            lines += ["[[message]]", f'file = "{fname}"', f'format = "{name}"', f'kind = "{case.kind}"']
            for f in case.failures:
                causes = ", ".join(f'"{c}"' for c in f.causes)
                lines += [f"recipients.{_key(f.rcpt)} = [{causes}]"]
            lines.append("")
    for i, (builder, kind, case) in enumerate(KIND_CASES, 1):
        fname = f"kind-{kind}-{i}.eml"
        (HERE / fname).write_bytes(builder(case).encode("utf-8"))
        lines += ["[[message]]", f'file = "{fname}"', f'format = "{kind}"', f'kind = "{kind}"', ""]
        count += 1
    (HERE / "labels.toml").write_text("\n".join(lines))
    print(count, "messages")


def _key(address: str) -> str:
    return f'"{address}"'


if __name__ == "__main__":
    main()
