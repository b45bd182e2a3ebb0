"""Plain tables that stay readable at any width (`explain --summary`, `codes`), and the one timestamp format
of log summaries.

A table that fits the width is aligned columns, the last one (a reply, a meaning) not padded and wrapped under
itself. One that does not fit is stacked: each row's first cell on a line, the short cells as `header value`
pairs below it, and the long last cell wrapped on its own lines, so the main column is never squeezed to a
few characters. Cells are measured by display width (CJK counts two).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TextIO

from mxprobe.render import clean
from mxprobe.render.layout import cells, join_parts, output_width, wrap

MIN_LAST = 30  # columns the last cell needs for the aligned form to be worth it

_SYSLOG = re.compile(r"^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d:\d\d:\d\d)")
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def when(text: str) -> str:
    """A log timestamp in one format: `2025-03-05 09:12:45` (fractions and offsets dropped, as logged); a
    syslog stamp has no year, so it is `03-05 09:12:45`. Anything else is shown as it came."""
    iso = _ISO.match(text)
    if iso:
        return f"{iso.group(1)} {iso.group(2)}"
    syslog = _SYSLOG.match(text)
    if syslog and syslog.group(1) in _MONTHS:
        return f"{_MONTHS[syslog.group(1)]:02d}-{int(syslog.group(2)):02d} {syslog.group(3)}"
    return text


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cells(text))


def write_table(
    out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = ""
) -> None:
    width = output_width(out)
    rows = [[clean(cell) for cell in row] for row in rows]
    widths = [max(cells(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lead = cells(indent) + sum(w + 2 for w in widths)
    if lead + MIN_LAST <= width or len(header) == 1:
        for row in [list(header), *rows]:
            first = indent + "".join(_pad(cell, w) + "  " for cell, w in zip(row, widths, strict=False))
            lines = wrap(row[-1], width, first, " " * lead) if row[-1] else [first.rstrip()]
            out.write("\n".join(line.rstrip() for line in lines) + "\n")
        return
    for row in rows:
        out.write(indent + row[0] + "\n")
        pairs = [f"{name} {cell}" for name, cell in zip(header[1:-1], row[1:-1], strict=False) if cell]
        for line in join_parts(pairs, width - 4, sep="  ", hang=""):
            out.write(f"{indent}    {line}\n")
        if row[-1]:
            colon = "：" if cells(header[-1]) > len(header[-1]) else ": "  # full-width after Chinese
            label = f"{header[-1]}{colon}{row[-1]}"
            out.write("\n".join(wrap(label, width, indent + "    ", indent + "      ")) + "\n")
