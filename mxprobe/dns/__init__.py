"""The run's DNS layer: one set of nameservers, one cache, one deadline, shared by every check and library.

- `nameserver`: which nameservers (`--nameserver` syntax, or the system's configuration);
- `deadline`: the run's time budget;
- `answer`: `Answer`, the outcome of one query;
- `wire`: queries built and replies matched at the byte level (the lean path);
- `transport`: shared UDP sockets, TCP when truncated;
- `client`: `Dns` (cache, retries, failover) and `Limiter` (what a command's clients share);
- `bridge`: `BridgeResolver`, the same layer for pyspf and checkdmarc (imported on first use).

Nothing here imports `dns.resolver`, `dns.query` or `dns.asyncquery` (and their DNS-over-HTTPS stack)
until a run needs the system's resolver configuration or a synchronous library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mxprobe.dns.answer import Answer
from mxprobe.dns.client import Dns, Limiter
from mxprobe.dns.deadline import Deadline
from mxprobe.dns.nameserver import Nameserver, parse_nameserver, system_nameservers
from mxprobe.dns.transport import MAX_SOCKETS, PER_SOCKET

if TYPE_CHECKING:
    from mxprobe.dns.bridge import BridgeResolver

__all__ = [
    "MAX_SOCKETS",
    "PER_SOCKET",
    "Answer",
    "BridgeResolver",
    "Deadline",
    "Dns",
    "Limiter",
    "Nameserver",
    "parse_nameserver",
    "system_nameservers",
]


def __getattr__(name: str) -> Any:
    if name == "BridgeResolver":  # loaded on first use: it needs dns.resolver
        from mxprobe.dns.bridge import BridgeResolver

        return BridgeResolver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
