# ruff: noqa: E501  (data: reply texts and message layouts are kept whole, one a line)
"""One function per bounce format: the notification text each mail system writes around its failures."""

from __future__ import annotations

from build import DATE, Case, Failure, mixed, plain, report, returned, wrap

DAEMON = "MAILER-DAEMON@{mta} (Mail Delivery System)"


def _postfix_line(f: Failure) -> str:
    if f.reply:
        said = f"host {f.remote}[{f.ip}] said: {f.reply} (in reply to RCPT TO command)"
        return f"<{f.rcpt}>: " + wrap(said, "    ").lstrip()
    return f"<{f.rcpt}>: {f.prose}"


def postfix(case: Case) -> str:
    delay = case.kind == "delay"
    intro = (
        f"This is the mail system at host {case.mta}.\n\n"
        + ("####################################################################\n"
           "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
           "####################################################################\n\n"
           "Your message could not be delivered for more than 4 hour(s).\n"
           "It will be retried until it is 5 day(s) old.\n\n" if delay else
           "I'm sorry to have to inform you that your message could not\n"
           "be delivered to one or more recipients. It's attached below.\n\n")
        + "For further assistance, please send mail to postmaster.\n\n"
        "If you do so, please include this problem report. You can\n"
        "delete your own text from the attached returned message.\n\n"
        "                   The mail system\n\n"
    )  # fmt: skip
    text = intro + "\n\n".join(_postfix_line(f) for f in case.failures) + "\n"
    subject = "Delayed Mail (still being retried)" if delay else "Undelivered Mail Returned to Sender"
    for f in case.failures:
        if not f.reply:
            f.diag_type = "X-Postfix"
    return report(
        case,
        DAEMON.format(mta=case.mta),
        subject,
        text,
        case.mta,
        boundary=f"4F1A22C0F3.1741770902/{case.mta}",
    )


def exim(case: Case) -> str:
    lines = []
    for f in case.failures:
        lines.append(f"  {f.rcpt}")
        if f.reply:
            lines += [f"    host {f.remote} [{f.ip}]", f"    SMTP error from remote mail server after RCPT TO:<{f.rcpt}>:",
                      wrap(f.reply, "    ")]  # fmt: skip
        else:
            lines.append(wrap(f.prose, "    "))
    delay = case.kind == "delay"
    text = (
        "This message was created automatically by mail delivery software.\n\n"
        + ("A message that you sent has not yet been delivered to one or more of its\n"
           f"recipients after more than 24 hours on the queue on {case.mta}.\n\n"
           "The message identifier is:     1tsLQe-0004Zk-2B\n\nThe address to which the message has not yet been delivered is:\n\n"
           if delay else
           "A message that you sent could not be delivered to one or more of its\n"
           "recipients. This is a permanent error. The following address(es) failed:\n\n")
        + "\n".join(lines)
        + ("\n\nNo action is required on your part. Delivery attempts will continue for\nsome time, "
           "and this warning may be repeated at intervals if the message\nremains undelivered.\n" if delay else "\n")
        + "\n------ This is a copy of the message, including all the headers. ------\n\n"
        + returned(case)
    )  # fmt: skip
    subject = (
        "Warning: message 1tsLQe-0004Zk-2B delayed 24 hours"
        if delay
        else "Mail delivery failed: returning message to sender"
    )
    failed = "" if delay else f"X-Failed-Recipients: {', '.join(f.rcpt for f in case.failures)}\n"
    return plain(case, f"Mail Delivery System <Mailer-Daemon@{case.mta}>", subject, text,
                 headers=f"{failed}Auto-Submitted: auto-replied\n")  # fmt: skip


def sendmail(case: Case) -> str:
    parts = []
    for f in case.failures:
        reason = f.reply or f.prose
        parts.append(f"<{f.rcpt}>\n    (reason: {reason})")
    transcript = "\n".join(
        f"... while talking to {f.remote}.:\n>>> RCPT To:<{f.rcpt}>\n<<< {f.reply}\n{f.reply.split(' ', 1)[0]} {f.rcpt}... {f.reply.split(' ', 2)[-1]}"
        if f.reply else f"{f.prose}" for f in case.failures
    )  # fmt: skip
    text = (
        f"The original message was received at {DATE}\nfrom client.sender.example [203.0.113.45]\n\n"
        "   ----- The following addresses had permanent fatal errors -----\n"
        + "\n".join(parts)
        + "\n\n   ----- Transcript of session follows -----\n"
        + transcript
        + "\n"
    )
    for f in case.failures:
        if not f.reply and f.diag_type == "smtp":
            f.diag_type = "X-Unix"
    return report(case, f"Mail Delivery Subsystem <MAILER-DAEMON@{case.mta}>", "Returned mail: see transcript for details",
                  text, case.mta, boundary="2BCAk3x9012345.1741770902/" + case.mta, rfc822=False)  # fmt: skip


def qmail(case: Case) -> str:
    blocks = []
    for f in case.failures:
        if f.reply:
            blocks.append(
                f"<{f.rcpt}>:\n{f.ip} does not like recipient.\nRemote host said: {f.reply}\nGiving up on {f.ip}."
            )
        else:
            blocks.append(f"<{f.rcpt}>:\n{f.prose}")
    text = (
        f"Hi. This is the qmail-send program at {case.mta}.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        + "\n\n".join(blocks)
        + "\n\n--- Below this line is a copy of the message.\n\n"
        + returned(case)
    )
    return plain(case, f"MAILER-DAEMON@{case.mta}", "failure notice", text)


def courier(case: Case) -> str:
    blocks = []
    for f in case.failures:
        if f.reply:
            blocks.append(f"<{f.rcpt}>:\n    {f.remote} [{f.ip}]:\n>>> RCPT TO:<{f.rcpt}>\n<<< {f.reply}")
        else:
            blocks.append(f"<{f.rcpt}>:\n    {f.prose}")
        f.status = "5.0.0"
    bar = "-" * 75
    text = (
        f"This is a delivery status notification from {case.mta},\nrunning the Courier mail server, version 1.1.8.\n\n"
        f"The original message was received on {DATE}\nfrom client.sender.example [203.0.113.45]\n\n{bar}\n\n"
        "                           UNDELIVERABLE MAIL\n\nYour message to the following recipients cannot be delivered:\n\n"
        + "\n\n".join(blocks) + f"\n\n{bar}\n\nIf your message was also sent to additional recipients, their delivery\n"
        "status is not included in this report.  You may or may not receive\nother delivery status notifications for additional recipients.\n"
    )  # fmt: skip
    return report(case, f'"Courier mail server at {case.mta}" <@>', "NOTICE: mail delivery status.", text, case.mta,
                  boundary=f"=_courier-{case.mta}-1741770902-0001")  # fmt: skip


def exchange2010(case: Case) -> str:
    friendly = []
    diag = []
    for f in case.failures:
        friendly.append(f"{f.rcpt}\n{f.prose or 'The recipient server rejected the message.'}")
        host = f.remote or case.mta
        diag.append(f"{f.rcpt}\n{host} #{f.reply} ##" if f.reply else f"{f.rcpt}\n#{f.status or '5.0.0'} ##")
    text = (
        "Delivery has failed to these recipients or groups:\n\n"
        + "\n\n".join(friendly)
        + f"\n\n\n\n\n\nDiagnostic information for administrators:\n\nGenerating server: {case.mta}\n\n"
        + "\n\n".join(diag)
        + "\n\nOriginal message headers:\n\n"
        + returned(case, body=False)
    )
    return report(case, f"Microsoft Exchange <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@{case.sender.split('@')[1]}>",
                  f"Undeliverable: {case.subject}", text, case.mta, headers="X-MS-Exchange-Message-Is-Ndr:\n")  # fmt: skip


def office365(case: Case) -> str:
    f = case.failures[0]
    code = f.reply.split(" ", 2)
    status = " ".join(code[:2])
    text = (
        f"Your message to {f.rcpt} couldn't be delivered.\n{f.prose}\n\n{case.sender.split('@')[0]}    Office 365    "
        f"{f.rcpt.split('@')[0]}\nAction Required                 Recipient\n\nHow to Fix It\n"
        "Try to fix the problem described above, then resend the message.\n\n"
        f"More Info for Email Admins\nStatus code: {status}\n\n"
        "Original Message Details\n"
        f"Created Date:    3/12/2025 9:15:01 AM\nSender Address:    {case.sender}\nRecipient Address:    {f.rcpt}\n"
        f"Subject:    {case.subject}\n\nError Details\nReported error:    {f.reply}\n"
        f"DSN generated by:    {case.mta}\n" + (f"Remote server:    {f.remote}\n" if f.remote else "")
    )
    html = f"<html><body><p>Your message to <b>{f.rcpt}</b> couldn't be delivered.</p><p>{f.prose}</p></body></html>"
    return report(case, "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@sender.example>",
                  f"Undeliverable: {case.subject}", text, case.mta, html=html,
                  headers="X-MS-Exchange-Message-Is-Ndr:\n")  # fmt: skip


def exchange2003(case: Case) -> str:
    lines = []
    for f in case.failures:
        tail = f"<{case.mta} #{f.status}{' smtp;' + f.reply if f.reply else ''}>"
        lines.append(f"      {f.rcpt} on 3/12/2025 10:15 AM\n            {f.prose}\n            {tail}")
    text = (
        "Your message did not reach some or all of the intended recipients.\n\n"
        f"      Subject:\t{case.subject}\n      Sent:\t3/12/2025 10:14 AM\n\n"
        "The following recipient(s) could not be reached:\n\n" + "\n\n".join(lines) + "\n"
    )
    return report(case, f"System Administrator <postmaster@{case.sender.split('@')[1]}>",
                  f"Undeliverable: {case.subject}", text, case.mta)  # fmt: skip


def exchange2000(case: Case) -> str:
    lines = "\n".join(f"       {f.rcpt}" for f in case.failures)
    text = f"Delivery to the following recipients failed.\n\n{lines}\n"
    for f in case.failures:
        f.diag_type = "smtp"
    return report(
        case,
        f"postmaster@{case.sender.split('@')[1]}",
        "Delivery Status Notification (Failure)",
        text,
        case.mta,
    )


def notes(case: Case) -> str:
    f = case.failures[0]
    text = (
        f"Your message\n\n  Subject: {case.subject}\n\nwas not delivered to:\n\n  {f.rcpt}\n\n"
        f"because:\n\n  {f.prose}\n"
    )
    return mixed(case, f"Mail Delivery System <postmaster@{case.mta}>", f"DELIVERY FAILURE: {f.prose}", text,
                 headers="X-Mailer: Lotus Domino Release 9.0.1FP10\n")  # fmt: skip


def notes_dsn(case: Case) -> str:
    f = case.failures[0]
    f.diag_type = "X-Notes"
    text = f"Your message\n\n  Subject: {case.subject}\n\nwas not delivered to:\n\n  {f.rcpt}\n\nbecause:\n\n  {f.prose}\n"
    return report(
        case, f"Postmaster@{case.mta}", f"DELIVERY FAILURE: {f.prose}", text, case.mta, rfc822=False
    )


def gmail(case: Case) -> str:
    f = case.failures[0]
    heading = {"recipient": "** Address not found **", "network": "** Message not delivered **"}.get(
        f.causes[0], "** Message blocked **"
    )
    if f.causes[0] == "recipient":
        lead = f"Your message wasn't delivered to {f.rcpt} because the address couldn't be found, or is unable to receive mail."
    elif f.causes[0] == "network":
        lead = f"There was a problem delivering your message to {f.rcpt}. See the technical details below."
    else:
        lead = f"Your message to {f.rcpt} has been blocked. See technical details below for more information."
    text = f"\n{heading}\n\n{lead}\n\nThe response from the remote server was:\n{f.reply or f.prose}\n"
    return report(case, "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "Delivery Status Notification (Failure)",
                  text, "googlemail.com", remote_style="gmail", boundary="000000000000b1a2c3d4e5f60718")  # fmt: skip


def google_groups(case: Case) -> str:
    f = case.failures[0]
    text = (
        f"\n** Address not found **\n\nYour message wasn't delivered to {f.rcpt} because the address couldn't be found, "
        f"or is unable to receive mail.\n\nThe response was:\n\n{f.prose}\n"
    )
    return report(case, "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "Delivery Status Notification (Failure)",
                  text, "googlemail.com", boundary="000000000000c0ffee0011223344")  # fmt: skip


def yahoo(case: Case, domain: str = "yahoo.com") -> str:
    blocks = []
    for f in case.failures:
        said = f"Remote host said: {f.reply} [RCPT_TO]" if f.reply else f.prose
        blocks.append(f"<{f.rcpt}>:\n{said}")
    text = (
        "Sorry, we were unable to deliver your message to the following address.\n\n"
        + "\n\n".join(blocks)
        + "\n\n--- Below this line is a copy of the message.\n\n"
        + returned(case)
    )
    return plain(case, f"MAILER-DAEMON@{domain}", "Failure Notice", text)


def aol(case: Case) -> str:
    return yahoo(case, "aol.com")


def gmx(case: Case) -> str:
    blocks = []
    for f in case.failures:
        if f.reply:
            blocks.append(
                f"{f.rcpt}:\nSMTP error from remote server for RCPT TO command, host: {f.remote} ({f.ip}) reason: {f.reply}"
            )
        else:
            blocks.append(f"{f.rcpt}:\n{f.prose}")
    text = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of\nits recipients. This is a permanent error. "
        "The following address(es)\nfailed:\n\n" + "\n\n".join(blocks) + "\n"
    )
    return report(case, "Mail Delivery System <mailer-daemon@gmx.net>", "Mail delivery failed: returning message to sender",
                  text, "mout.gmx.net", boundary="--=_mout-gmx-0001")  # fmt: skip


def mailru(case: Case) -> str:
    lines = []
    for f in case.failures:
        lines += [f"  {f.rcpt}", "    SMTP error from remote mail server after RCPT TO:<" + f.rcpt + ">:",
                  f"    host {f.remote} [{f.ip}]: {f.reply}" if f.reply else "    " + f.prose]  # fmt: skip
    text = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        + "\n".join(lines)
        + "\n\n------ This is a copy of the message, including all the headers. ------\n\n"
        + returned(case)
    )
    return plain(case, "Mail Delivery System <MAILER-DAEMON@corp.mail.ru>", "Mail failure.", text,
                 headers=f"X-Failed-Recipients: {', '.join(f.rcpt for f in case.failures)}\n")  # fmt: skip


def zoho(case: Case) -> str:
    lines = []
    for f in case.failures:
        code, _, rest = f.reply.partition(" ")
        lines.append(f"{f.rcpt}, ERROR CODE :{code} - {rest}")
    text = (
        "This message was created automatically by mail delivery software.\n"
        "A message that you sent could not be delivered to one or more of its recipients. "
        "This is a permanent error.\n\n" + "\n".join(lines) + "\n"
    )
    return mixed(case, "mailer-daemon@mail.zoho.com", "Undelivered Mail Returned to Sender", text)


def orange(case: Case) -> str:
    lines = []
    for f in case.failures:
        lines.append(
            f"<{f.rcpt}>:\n    hôte {f.remote}[{f.ip}] a répondu : {f.reply} (en réponse à la commande RCPT TO)"
        )
    text = (
        f"Ceci est le système de messagerie de l'hôte {case.mta}.\n\n"
        "Nous sommes désolés de vous informer que votre message n'a pas pu être\n"
        "distribué à un ou plusieurs destinataires. Il est joint ci-dessous.\n\n" + "\n\n".join(lines) + "\n"
    )
    return report(case, f"MAILER-DAEMON@{case.mta} (Système de distribution du courrier)",
                  "Message non remis : retour à l'expéditeur", text, case.mta)  # fmt: skip


def docomo(case: Case) -> str:
    text = "このメールは配信システムにより自動的に作成されました。\n\n以下の宛先へメールを配信できませんでした。\n\n" + "\n".join(
        f"  {f.rcpt}\n  {f.reply or f.prose}" for f in case.failures)  # fmt: skip
    return report(case, "Mail Delivery Subsystem <MAILER-DAEMON@docomo.ne.jp>", "Returned mail: see transcript for details",
                  text, "mfsmax.docomo.ne.jp")  # fmt: skip


def au(case: Case) -> str:
    blocks = "\n".join(f"   Could not be delivered to: <{f.rcpt}>\n   {f.prose}" for f in case.failures)
    text = (
        f"Your mail sent on: {DATE}\n   could not be delivered to the following recipients\n"
        f"   for the reasons shown.\n\n{blocks}\n\n   Please reply to <postmaster@ezweb.ne.jp> if you feel this message is in error.\n"
    )
    return mixed(case, "postmaster@ezweb.ne.jp", "Mail System Error - Returned Mail", text)


def softbank(case: Case) -> str:
    text = "このメールは、システムにより自動的に送信されています。\nお送りになったメールは、以下の宛先に配信できませんでした。\n\n" + "\n".join(
        f"宛先: {f.rcpt}\n理由: {f.reply or f.prose}" for f in case.failures) + "\n"  # fmt: skip
    return mixed(
        case,
        "Mail Delivery Subsystem <MAILER-DAEMON@softbank.ne.jp>",
        "配信不能のお知らせ (Undelivered Mail)",
        text,
    )


def barracuda(case: Case) -> str:
    f = case.failures[0]
    text = (
        f"Your message to: {f.rcpt}\nwas blocked by our Spam Firewall. The email you sent with the following subject "
        f"has NOT BEEN DELIVERED:\n\nSubject: {case.subject}\n\nReason: {f.prose or f.reply}\n"
    )
    return mixed(case, "Barracuda Spam Firewall <postmaster@barracuda.dest.example>",
                 "Message you sent blocked by our bulk email filter", text)  # fmt: skip


def mcafee(case: Case) -> str:
    blocks = "\n".join(f"<{f.rcpt}>   ({f.reply or f.prose})" for f in case.failures)
    text = (
        f"--- The following addresses had delivery problems ---\n\n{blocks}\n\n--- Transcript of session follows ---\n"
        + "\n".join(f"<<< {f.reply}" for f in case.failures if f.reply)
        + "\n"
    )
    return mixed(
        case,
        "Mail Delivery Subsystem <postmaster@mxlogic.net>",
        "Delivery Status Notification (Failure)",
        text,
    )


def messaging_server(case: Case) -> str:
    blocks = []
    for f in case.failures:
        blocks.append(
            f"  Recipient address: {f.rcpt}\n  Original address: {f.rcpt}\n  Reason: Remote SMTP server has rejected address\n"
            f"  Diagnostic code: smtp;{f.reply}\n  Remote system: dns;{f.remote} (TCP|192.0.2.5|48213|{f.ip}|25)"
        )
    text = (
        "This report relates to a message you sent with the following header fields:\n\n"
        f"  Message-id: <550.0.0.1741770902@{case.sender.split('@')[1]}>\n  Date: {DATE}\n  From: {case.sender}\n"
        f"  To: {', '.join(f.rcpt for f in case.failures)}\n  Subject: {case.subject}\n\n"
        "Your message cannot be delivered to the following recipients:\n\n" + "\n\n".join(blocks) + "\n"
    )
    return report(case, f"Internet Mail Delivery <postmaster@{case.mta}>", "Delivery Notification: Delivery has failed",
                  text, case.mta, boundary="Boundary_(ID_yVu1rQ2N9kZJ3g5tH7x0pA)")  # fmt: skip


def netease(case: Case) -> str:
    f = case.failures[0]
    text = (
        "您好，很抱歉您的邮件没能成功发送。\n\n系统退信\n"
        f"退信原因：{f.prose}\n收件人：{f.rcpt}\n发件人：{case.sender}\n主题：{case.subject}\n"
        + (
            f"对方服务器返回信息：\nhost {f.remote}[{f.ip}] said: {f.reply} (in reply to RCPT TO command)\n"
            if f.reply
            else ""
        )
        + "\n建议：请联系您的邮件管理员，或稍后重试。\n\n------------------ 原始邮件 ------------------\n"
        f"发件人：{case.sender}\n收件人：{f.rcpt}\n主题：{case.subject}\n"
    )
    return plain(case, "postmaster@163.com", "系统退信", text, headers="X-Mailer: Coremail\n")


def qq(case: Case) -> str:
    f = case.failures[0]
    text = (
        f"很抱歉您的邮件未能成功发送给 {f.rcpt}。\n\n退信原因：{f.prose}\n"
        + (f"收件方服务器回复：{f.reply}\n" if f.reply else "")
        + "\n建议解决方案：请检查收件人地址是否正确后重试。\n\n----- 原邮件 -----\n"
        + returned(case, body=False)
    )
    return plain(case, '"Mail Delivery System" <MAILER-DAEMON@qq.com>', "退信通知：邮件未能成功发送", text)


def sina(case: Case) -> str:
    f = case.failures[0]
    text = (
        f"您发送的邮件未能成功投递到以下地址：\n\n{f.rcpt}\n\n投递失败原因：\n{f.reply or f.prose}\n\n"
        "------------------------------------------\n原信件\n" + returned(case, body=False)
    )
    return plain(case, "Mail Delivery System <MAILER-DAEMON@sina.com>", "投递失败：邮件未能送达", text)


def aliyun(case: Case) -> str:
    f = case.failures[0]
    text = (
        "此邮件由邮件系统自动生成，请勿回复。\n\n您发送的邮件无法投递到以下收件人：\n\n"
        f"收件人：{f.rcpt}\n退信原因：{f.reply or f.prose}\n"
    )
    return mixed(case, "postmaster@alibaba-inc.example.cn", "邮件被退回：无法投递", text)


def mdaemon(case: Case) -> str:
    sessions = "".join(
        f"--- Session Transcript ---\n Wed 2025-03-12 10:15:01: Attempting SMTP connection to [{f.remote} : 25]\n"
        f" Wed 2025-03-12 10:15:01: Connection established {f.ip}:25\n Wed 2025-03-12 10:15:02: --> RCPT To:<{f.rcpt}>\n"
        f" Wed 2025-03-12 10:15:02: <-- {f.reply}\n--- End Transcript ---\n"
        for f in case.failures
    )
    text = (
        "The attached message had PERMANENT fatal delivery errors!\n\n"
        "After one or more unsuccessful delivery attempts the attached message has\nbeen removed from the mail queue on this server.\n\n"
        "YOU DO NOT NEED TO RESEND YOUR MESSAGE TO THE ADDRESSES BELOW THAT FAILED.\n\n" + sessions
    )
    return mixed(case, f"MDaemon@{case.mta}", f"Permanent Delivery Failure: {case.subject}", text)


def groupwise(case: Case) -> str:
    lines = "\n".join(f"\t{f.rcpt} ({f.prose})" for f in case.failures)
    text = (f"The message that you sent was undeliverable to the following:\n{lines}\n\n"
            "Possibly truncated original message follows:\n\n" + returned(case))  # fmt: skip
    return plain(case, f"Mail Delivery System <postmaster@{case.mta}>", "Undeliverable mail", text)


def opensmtpd(case: Case) -> str:
    lines = "\n".join(f"{f.rcpt}: {f.reply or f.prose}" for f in case.failures)
    text = (
        "Hi!\n\nThis is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n"
        "An error has occurred while attempting to deliver a message for\nthe following list of recipients:\n\n"
        f"{lines}\n\nBelow is a copy of the original message:\n\n" + returned(case)
    )
    return plain(
        case, f"Mailer Daemon <MAILER-DAEMON@{case.mta}>", "Delivery status notification: error", text
    )


def amazon_ses(case: Case) -> str:
    text = "An error occurred while trying to deliver the mail to the following recipients:\n" + "\n".join(
        f.rcpt for f in case.failures)  # fmt: skip
    return report(case, "MAILER-DAEMON@amazonses.com", "Delivery Status Notification (Failure)", text,
                  "a27-12.smtp-out.us-west-2.amazonses.com")  # fmt: skip


def rfc3464(case: Case) -> str:
    text = f"This is a delivery status notification from {case.mta}.\nThe message below could not be delivered.\n"
    return report(case, f"postmaster@{case.mta}", "Delivery Status Notification", text, case.mta)


def broken_mime(case: Case) -> str:
    """A report whose boundary parameter does not match the parts: only the inline fields remain."""
    msg = rfc3464(case)
    return msg.replace('boundary="=_report_4F1A22C0F3"', 'boundary="=_report_XXXX"', 1)


def delivered(case: Case) -> str:
    for f in case.failures:
        f.action = "relayed" if "relay" in f.rcpt else "delivered"
        f.status = "2.0.0"
    text = "This is the mail system. Your message was successfully delivered to the destination(s) listed below.\n"
    return report(
        case,
        f"MAILER-DAEMON@{case.mta} (Mail Delivery System)",
        "Successful Mail Delivery Report",
        text,
        case.mta,
    )


def auto_reply(case: Case) -> str:
    text = (
        "Thank you for your message. I am out of the office until 24 March with limited access to e-mail.\n"
    )
    return plain(case, "Robin Reader <robin@dest.example>", f"Automatic reply: {case.subject}", text,
                 headers="Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n")  # fmt: skip


def vacation(case: Case) -> str:
    text = "Ich bin bis zum 24. März nicht im Büro. Ihre Nachricht wird nicht weitergeleitet.\n"
    return plain(case, "Kim Leser <kim@ziel.example>", f"Abwesenheitsnotiz: {case.subject}", text,
                 headers="Precedence: auto_reply\nX-Autoreply: yes\n")  # fmt: skip


def arf(case: Case) -> str:
    b = "arf-boundary-42"
    return (
        f"From: <feedback@fbl.dest.example>\nTo: {case.sender}\nSubject: FW: {case.subject}\nDate: {DATE}\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=feedback-report;\n\tboundary="{b}"\n\n'
        f"--{b}\nContent-Type: text/plain; charset=utf-8\n\nThis is an email abuse report for an email message received from IP\n"
        f"203.0.113.45 on {DATE}.\n\n--{b}\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
        "User-Agent: SomeGenerator/1.0\nVersion: 1\nOriginal-Mail-From: <" + case.sender + ">\n"
        f"Arrival-Date: {DATE}\nSource-IP: 203.0.113.45\n\n--{b}\nContent-Type: message/rfc822\n\n{returned(case)}\n--{b}--\n"
    )
