"""Blocklists (DNSBL, RHSBL, URI lists) for the `dnsbl` (sending IP) and `dbl` (sending domains) checks.

- `data`: what the lists are (checks/dnsbl.toml), validated;
- `select`: which zones a run asks, with the user's keys; `redact`: the keys never reach the output;
- `engine`: the queries and the reading of each answer (test points, refusal codes, rewrites);
- `records`: the outcomes; `wording`: the summaries and fixes; `check`: the verdict of one check.
"""

from __future__ import annotations

from mxprobe.blocklists.check import check, verdict
from mxprobe.blocklists.data import (
    IPV6_TEST_CLEAN,
    IPV6_TEST_LISTED,
    Catalogue,
    CodeTable,
    DataError,
    Zone,
    catalogue,
    load,
)
from mxprobe.blocklists.engine import domain_names, plain_ip, read, reversed_ip, unlistable
from mxprobe.blocklists.records import ListDetails, Record, Subject, ZoneOutcome, ZoneRecord
from mxprobe.blocklists.redact import Redactor
from mxprobe.blocklists.select import redactor, selected_zones

__all__ = [
    "IPV6_TEST_CLEAN",
    "IPV6_TEST_LISTED",
    "Catalogue",
    "CodeTable",
    "DataError",
    "ListDetails",
    "Record",
    "Redactor",
    "Subject",
    "Zone",
    "ZoneOutcome",
    "ZoneRecord",
    "catalogue",
    "check",
    "domain_names",
    "load",
    "plain_ip",
    "read",
    "redactor",
    "reversed_ip",
    "selected_zones",
    "unlistable",
    "verdict",
]
