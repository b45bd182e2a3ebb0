"""What `explain` writes about bounce messages besides their failed recipients: a message that is not a
failure (one line saying which kind it is), and the summary of a folder of bounces."""

from __future__ import annotations

import json
from typing import Any, TextIO

from mxprobe.render import clean

KINDS = {
    "delivery-report": "a delivery report: recipients delivered, relayed or expanded, nothing failed",
    "auto-reply": "an auto-reply (out of office, vacation, autoresponder), not a delivery failure",
    "feedback": "a feedback report (ARF, RFC 5965): a complaint about a message, not a delivery failure",
    "delay": "a delay notice: delivery is still being tried",
    "receipt": "a read receipt (disposition notification, RFC 8098), not a delivery failure",
    "message": "an ordinary message, not a bounce",
    "bounce": "a bounce in which no failed recipient was found",
}
TOP = 20


def write_kind(out: TextIO, where: str, data: dict[str, Any], *, as_json: bool) -> None:
    """One line for a message that holds no failed recipient: `{"file", "message", "kind", ...}`."""
    if as_json:
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    actions = ", ".join(data.get("actions", []))
    delayed = ", ".join(data.get("recipients", []))
    extra = f" (recipients {clean(actions)})" if actions else f" ({clean(delayed)})" if delayed else ""
    out.write(f"{clean(where)}: {KINDS.get(data['kind'], data['kind'])}{extra}\n")


def write_summary(out: TextIO, data: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in data["kinds"].items())
    out.write(f"bounces: {data['messages']:,} messages ({kinds}), {data['recipients']:,} failed recipients\n")
    if data["unexplained"]:
        out.write(f"  {data['unexplained']:,} bounces named no failed recipient\n")
    _table(out, f"failed recipients by cause ({data['recipients']:,})", ("cause", "count", "share"),
           [(c["cause"], f"{c['count']:,}", _percent(c["share"])) for c in data["causes"]])  # fmt: skip
    _table(out, _top("failed recipients by recipient domain", data["domains"]), ("domain", "count", "share",
           "top cause"), [(clean(d["domain"]) or "-", f"{d['count']:,}", _percent(d["share"]), d["top_cause"])
                          for d in data["domains"][:TOP]])  # fmt: skip
    _table(out, _top("failed recipients by reporting MTA", data["reporting_mtas"]), ("reporting MTA", "count",
           "share"), [(clean(m["mta"]) or "-", f"{m['count']:,}", _percent(m["share"]))
                      for m in data["reporting_mtas"][:TOP]])  # fmt: skip


def _top(title: str, rows: list[Any]) -> str:
    return f"{title}, the top {TOP} of {len(rows)}" if len(rows) > TOP else title


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _table(out: TextIO, title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    if not rows:
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out.write(f"\n{title}\n")
    for row in [header, *rows]:
        out.write(
            "  " + "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )
