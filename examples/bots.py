"""Tasks the example jobs in jobs.d/ point at.

The birthday and visitor bots of the system this project replaces get their real
behaviour (contacts, outbox, typed params) in a later issue; for now they report what
they were asked to do, so a job pointing at them is runnable end to end.
"""

from __future__ import annotations

from typing import Any


def birthday(
    dry_run: bool = False,
    process_late: bool = False,
    max_days_late: int = 0,
    max_messages: int = 10,
) -> dict[str, Any]:
    """Greet contacts whose birthday is today (and late ones when ``process_late``)."""
    return {
        "task": "birthday",
        "dry_run": dry_run,
        "process_late": process_late,
        "max_days_late": max_days_late,
        "max_messages": max_messages,
        "sent": 0,
    }


def visitor(dry_run: bool = False, limit: int = 50) -> dict[str, Any]:
    """Visit up to ``limit`` profiles."""
    return {"task": "visitor", "dry_run": dry_run, "limit": limit, "visited": 0}


def heartbeat(**params: Any) -> dict[str, Any]:
    """Do nothing, successfully: a liveness job for dashboards."""
    return {"task": "heartbeat", "params": params}


def report(name: str = "daily", **params: Any) -> dict[str, Any]:
    """Stand-in for a reporting job."""
    return {"task": "report", "name": name, "params": params}
