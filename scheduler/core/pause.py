"""A runtime pause as a value, and what a fresh read of the pauses changes (pure).

A pause holds a job without a commit, for incidents (``scheduler pause``); where pauses
are stored (Redis) is ``scheduler.engine.pauses``. Instants are aware and in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Pause:
    """Who paused a job, when, why, and until when (None: until resumed). Instants UTC."""

    job: str
    by: str
    at: datetime
    reason: str
    until: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """True from ``until`` on; a pause without an end never expires."""
        return self.until is not None and now >= self.until

    def as_json(self) -> dict[str, Any]:
        """The pause as JSON-ready values (instants as ISO-8601 text)."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["until"] = None if self.until is None else self.until.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Pause:
        """Read back :meth:`as_json`; raises ValueError, KeyError or TypeError if malformed."""
        until = data.get("until")
        return cls(
            job=str(data["job"]),
            by=str(data.get("by", "")),
            at=datetime.fromisoformat(str(data["at"])),
            reason=str(data.get("reason", "")),
            until=None if not until else datetime.fromisoformat(str(until)),
        )


def active(pauses: Mapping[str, Pause], now: datetime) -> dict[str, Pause]:
    """The pauses still in force at ``now`` (expired ones left out)."""
    return {name: p for name, p in pauses.items() if not p.expired(now)}


@dataclass(frozen=True, kw_only=True)
class PauseChanges:
    """What the pauses read at ``now`` change against those in force before.

    ``expired``: stored pauses past their end, to remove from the store. ``current``: the
    pauses in force now. ``paused``: those of ``current`` that are new or changed.
    ``resumed``: the jobs paused before and not now. ``changed``: current differs from before.
    """

    expired: tuple[Pause, ...]
    current: Mapping[str, Pause]
    paused: Mapping[str, Pause]
    resumed: tuple[str, ...]
    changed: bool


def changes(
    before: Mapping[str, Pause], stored: Mapping[str, Pause], now: datetime
) -> PauseChanges:
    """Compare the pauses in force ``before`` with those ``stored`` now (expired included)."""
    current = active(stored, now)
    return PauseChanges(
        expired=tuple(p for p in stored.values() if p.expired(now)),
        current=current,
        paused={name: p for name, p in current.items() if before.get(name) != p},
        resumed=tuple(name for name in before if name not in current),
        changed=current != before,
    )
