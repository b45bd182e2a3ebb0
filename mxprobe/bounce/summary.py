"""A folder of bounces in numbers (`explain --summary` on bounces): failed recipients by cause, by
recipient domain and by reporting MTA, and the messages by kind. Counts only; prints nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mxprobe.bounce.model import Bounce, Kind


@dataclass
class BounceSummary:
    messages: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)
    domains: dict[str, Counter[str]] = field(default_factory=dict)  # domain -> causes
    reporters: Counter[str] = field(default_factory=Counter)
    unexplained: int = 0  # bounces in which no failed recipient was found

    def add(self, bounce: Bounce) -> None:
        self.messages += 1
        self.kinds[str(bounce.kind)] += 1
        if bounce.kind == Kind.BOUNCE and not bounce.recipients:
            self.unexplained += 1
        for failure in bounce.recipients:
            cause = failure.explanation.cause
            self.actions[failure.action] += 1
            self.causes[cause] += 1
            domain = failure.recipient.rpartition("@")[2].lower()
            self.domains.setdefault(domain, Counter())[cause] += 1
            self.reporters[bounce.reporting_mta.lower() or bounce.origin] += 1  # who wrote the bounce

    def to_dict(self) -> dict[str, Any]:
        recipients = sum(self.causes.values())
        return {
            "messages": self.messages,
            "kinds": dict(self.kinds.most_common()),
            "recipients": recipients,
            "actions": dict(self.actions.most_common()),
            "unexplained": self.unexplained,
            "causes": [
                {"cause": cause, "count": n, "share": _share(n, recipients)}
                for cause, n in self.causes.most_common()
            ],
            "domains": [
                {
                    "domain": domain,
                    "count": sum(causes.values()),
                    "share": _share(sum(causes.values()), recipients),
                    "top_cause": causes.most_common(1)[0][0],
                }
                for domain, causes in sorted(self.domains.items(), key=lambda d: (-sum(d[1].values()), d[0]))
            ],
            "reporting_mtas": [
                {"mta": mta, "count": n, "share": _share(n, recipients)}
                for mta, n in self.reporters.most_common()
            ],
        }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
