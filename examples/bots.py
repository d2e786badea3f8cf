"""The two bots of the system this project replaces, as typed tasks, plus two small helpers.

They do real, harmless work on local files shipped in ``examples/data/``:

- ``birthday`` reads a contacts CSV, picks the contacts whose birthday falls on the run's
  scheduled date (in the job's time zone), and late ones up to ``max_days_late`` days back
  when ``process_late``, and writes one greeting file each to an outbox folder, at most
  ``max_messages``. A greeting already in the outbox is never written twice, so a retry or
  an overlapping late window sends nothing again. ``dry_run`` only logs what it would send.
- ``visitor`` visits up to ``limit`` profiles from a profiles CSV, the ones never or least
  recently visited first, and records each visit in a JSON state file (not in dry-run).

Each returns a small summary, which ``scheduler history`` shows.
"""

from __future__ import annotations

import calendar
import csv
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field

from scheduler.tasks import RunContext, task

DATA = Path(__file__).resolve().parent / "data"
SHOWN = 10  # names listed in a summary; the counts are always complete

log = structlog.get_logger()


class BirthdayParams(BaseModel):
    """Params of the birthday bot."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    dry_run: bool = False
    process_late: bool = False
    max_days_late: int = Field(default=7, ge=0, le=365)
    max_messages: int = Field(default=10, ge=1, le=10_000)
    contacts: str = str(DATA / "contacts.csv")
    outbox: str = "data/outbox"


class VisitorParams(BaseModel):
    """Params of the profile-visitor bot."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    dry_run: bool = False
    limit: int = Field(default=50, ge=1, le=10_000)
    profiles: str = str(DATA / "profiles.csv")
    state: str = "data/visits.json"


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    email: str
    month: int
    day: int


@dataclass(frozen=True)
class Greeting:
    contact: Contact
    birthday: date  # the occurrence being greeted
    days_late: int


def read_contacts(path: Path) -> list[Contact]:
    """Contacts from a CSV with ``id,name,email,birthday`` (``YYYY-MM-DD`` or ``--MM-DD``).

    A row whose birthday is not a real date (``--04-31``) is logged and left out: guessing
    a day would greet someone on the wrong one.
    """
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            text = (row.get("birthday") or "").strip()
            try:
                month, day = (int(p) for p in text[-5:].split("-"))
                date(2000, month, day)  # a leap year: 29 February is a real birthday
            except ValueError:
                log.warning("birthday.bad_contact", file=str(path), line=line, birthday=text)
                continue
            out.append(Contact(row["id"], row["name"], row["email"], month, day))
    return out


def birthday_in(contact: Contact, year: int) -> date:
    """The contact's birthday in ``year``; 29 February is kept on the 28th in other years."""
    if (contact.month, contact.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, contact.month, contact.day)


def greetings_due(
    contacts: list[Contact], today: date, *, process_late: bool, max_days_late: int
) -> list[Greeting]:
    """Today's birthdays, then (when ``process_late``) the late ones, most recent first."""
    window = max_days_late if process_late else 0
    due = []
    for contact in contacts:
        # The most recent birthday only: with a window near a year, last year's is not owed too.
        for year in (today.year, today.year - 1):
            occurrence = birthday_in(contact, year)
            late = (today - occurrence).days
            if late >= 0:
                if late <= window:
                    due.append(Greeting(contact, occurrence, late))
                break
    return sorted(due, key=lambda g: (g.days_late, g.contact.id))


@task(params=BirthdayParams)
def birthday(params: BirthdayParams, run: RunContext) -> dict[str, Any]:
    """Greet the contacts whose birthday is the run's scheduled date (and late ones)."""
    today = run.local_date
    due = greetings_due(
        read_contacts(Path(params.contacts)),
        today,
        process_late=params.process_late,
        max_days_late=params.max_days_late,
    )
    outbox = Path(params.outbox)
    fresh = [g for g in due if not _greeting_path(outbox, g).exists()]
    chosen, capped = fresh[: params.max_messages], fresh[params.max_messages :]
    for greeting in chosen:
        name, late = greeting.contact.name, greeting.days_late
        if params.dry_run:
            log.info("birthday.would_send", contact=greeting.contact.id, name=name, days_late=late)
            continue
        _write_atomically(_greeting_path(outbox, greeting), _greeting_text(greeting))
        log.info("birthday.sent", contact=greeting.contact.id, name=name, days_late=late)
    return {
        "date": today.isoformat(),
        "dry_run": params.dry_run,
        "sent": 0 if params.dry_run else len(chosen),
        "would_send": len(chosen) if params.dry_run else 0,
        "late": sum(1 for g in chosen if g.days_late),
        "already_sent": len(due) - len(fresh),
        "over_limit": len(capped),
        "names": [g.contact.name for g in chosen[:SHOWN]],
    }


def _greeting_path(outbox: Path, greeting: Greeting) -> Path:
    return outbox / f"{greeting.birthday.isoformat()}--{greeting.contact.id}.txt"


def _greeting_text(greeting: Greeting) -> str:
    first = greeting.contact.name.split()[0]
    late = f" (a little late: it was {greeting.days_late} day(s) ago)" if greeting.days_late else ""
    return f"To: {greeting.contact.email}\n\nHappy birthday, {first}!{late}\n"


def _write_atomically(path: Path, text: str) -> None:
    # Written under a temporary name and renamed: a killed run leaves no half greeting
    # that would count as sent.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def read_profiles(path: Path) -> list[dict[str, str]]:
    """Profiles from a CSV with ``id,name,url``."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def pick_profiles(
    profiles: list[dict[str, str]], visited: dict[str, str], limit: int
) -> list[dict[str, str]]:
    """Up to ``limit`` profiles: never visited first, then the least recently visited."""
    return sorted(profiles, key=lambda p: (visited.get(p["id"], ""), p["id"]))[:limit]


@task(params=VisitorParams)
def visitor(params: VisitorParams, run: RunContext) -> dict[str, Any]:
    """Visit up to ``limit`` profiles and record the visits."""
    state_path = Path(params.state)
    visited: dict[str, str] = (
        json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    )
    chosen = pick_profiles(read_profiles(Path(params.profiles)), visited, params.limit)
    stamp = run.scheduled_for.isoformat()
    for profile in chosen:
        log.info(
            "visitor.would_visit" if params.dry_run else "visitor.visited",
            profile=profile["id"],
            url=profile["url"],
        )
        visited[profile["id"]] = stamp
    if not params.dry_run:
        _write_atomically(state_path, json.dumps(visited, indent=1, sort_keys=True))
    return {
        "dry_run": params.dry_run,
        "visited": 0 if params.dry_run else len(chosen),
        "would_visit": len(chosen) if params.dry_run else 0,
        "first": [p["id"] for p in chosen[:SHOWN]],
    }


def heartbeat(**params: Any) -> dict[str, Any]:
    """Do nothing, successfully: a liveness job for dashboards."""
    return {"task": "heartbeat", "params": params}


def report(name: str = "daily", **params: Any) -> dict[str, Any]:
    """Stand-in for a reporting job."""
    return {"task": "report", "name": name, "params": params}
