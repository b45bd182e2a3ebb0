"""Delivered messages for the tests of mxprobe/message: signed here with dkimpy, with keys the loopback DNS
server publishes (`zones()`), wrapped in the headers Gmail adds on delivery (formats from Google's docs
and public samples; see mxprobe/message/received.py). Microsoft 365, Yahoo, QQ Mail and NetEase deliveries are
in tests/data/messages/."""

from __future__ import annotations

import base64
from functools import cache

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SENDER_IP = "203.0.113.25"  # authorised by msg.test's SPF, PTR mail.msg.test
OTHER_IP = "203.0.113.99"  # listed nowhere, no PTR
HELO = "mail.msg.test"
DATE = "Mon, 30 Nov 2026 18:00:00 +0000"


@cache
def key(name: str) -> tuple[bytes, str]:
    """(PKCS#1 private key PEM, base64 public key) of a 2048-bit RSA key, one per name."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(public).decode("ascii")


def zones() -> dict[str, str]:
    return {
        "msg.test.": (
            f'@ TXT "v=spf1 ip4:{SENDER_IP} -all"\n'
            f"mail A {SENDER_IP}\n"
            '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@msg.test"\n'
            f'sel1._domainkey TXT "v=DKIM1; k=rsa; p={key("sel1")[1]}"\n'
            'old._domainkey TXT "v=DKIM1; k=rsa; p="\n'
            f'list._domainkey.lists TXT "v=DKIM1; k=rsa; p={key("list")[1]}"\n'
            f'lists TXT "v=spf1 ip4:{SENDER_IP} -all"\n'
        ),
        "esp.test.": (
            f'@ TXT "v=spf1 ip4:{SENDER_IP} -all"\nesp._domainkey TXT "v=DKIM1; k=rsa; p={key("esp")[1]}"\n'
        ),
        "113.0.203.in-addr.arpa.": "25 PTR mail.msg.test.\n",
    }


def core(
    body: bytes = b"Hello Bob,\r\nsee you tomorrow.\r\n", sender: str = "Alice <alice@msg.test>"
) -> bytes:
    return (
        f"From: {sender}\r\nTo: Bob <bob@gmail.test>\r\nSubject: =?UTF-8?B?5rWL6K+V?= tomorrow\r\n"
        f"Date: {DATE}\r\nMessage-ID: <20261130180000.1@msg.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body


def sign(message: bytes, domain: str = "msg.test", selector: str = "sel1", key_name: str = "sel1") -> bytes:
    heads = [b"from", b"to", b"subject", b"date", b"message-id"]
    signature: bytes = dkim.sign(
        message, selector.encode(), domain.encode(), key(key_name)[0], include_headers=heads
    )
    return signature + message


def submitted(message: bytes, mail_from: str = "alice@msg.test") -> bytes:
    """The sender's own MTA line (an authenticated submission) and Return-Path as the receiver writes it."""
    return (
        f"Return-Path: <{mail_from}>\r\n"
        f"Received: from [192.168.1.10] (unknown [198.51.100.7]) by {HELO} (Postfix) "
        "with ESMTPSA id 4AB12;\r\n"
        f"\t{DATE}\r\n"
    ).encode() + message


def gmail(message: bytes, results: str, ip: str = SENDER_IP, helo: str = HELO, ptr: str = HELO) -> bytes:
    """Gmail: internal `Received: by`, its ARC set above the border hop, Received-SPF and A-R below it."""
    return (
        "Received: by 2002:a05:6a10:8f0b:b0:5d1:aaaa:bbbb with SMTP id x5csp1021946pxb;\r\n"
        "        Mon, 30 Nov 2026 10:00:06 -0800 (PST)\r\n"
        "X-Received: by 2002:a17:90b:1:b0:2f0:1:2 with SMTP id z1mr1.1;\r\n"
        "        Mon, 30 Nov 2026 10:00:05 -0800 (PST)\r\n"
        f"Received: from {helo} ({ptr}. [{ip}])\r\n"
        "        by mx.google.com with ESMTPS id m9si1764.2026.11.30.10.00.04\r\n"
        "        for <bob@gmail.test>\r\n"
        "        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\r\n"
        "        Mon, 30 Nov 2026 10:00:04 -0800 (PST)\r\n"
        f"Received-SPF: pass (google.com: domain of alice@msg.test designates {ip} as permitted sender)"
        f" client-ip={ip};\r\n"
        f"Authentication-Results: mx.google.com;\r\n       {results}\r\n"
    ).encode() + message


GOOD_RESULTS = (
    "dkim=pass header.i=@msg.test header.s=sel1 header.b=AbCd1234;\r\n"
    "       spf=pass (google.com: domain of alice@msg.test designates 203.0.113.25 as permitted sender)"
    " smtp.mailfrom=alice@msg.test;\r\n"
    "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=msg.test"
)


def good() -> bytes:
    return gmail(submitted(sign(core())), GOOD_RESULTS)
