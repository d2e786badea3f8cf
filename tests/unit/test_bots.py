"""The birthday and visitor bots, run as the runner runs them, on fixture files in tmp_path.

Each test writes its own contacts or profiles CSV, calls the decorated task through
``call_task`` with a RunContext, and checks what a user sees: the greeting files in the
outbox, the visits in the state file, and the summary the run returns.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from examples.bots import (
    Contact,
    birthday,
    birthday_in,
    greetings_due,
    pick_profiles,
    read_contacts,
    visitor,
)
from scheduler.core.errors import TaskParamsError
from scheduler.tasks import RunContext, call_task

BIRTHDAY = "examples.bots:birthday"
VISITOR = "examples.bots:visitor"


# --- helpers -------------------------------------------------------------------------


def context(scheduled_for: datetime, timezone: str = "UTC") -> RunContext:
    """A run context for a run due at ``scheduled_for`` (aware) in ``timezone``."""
    return RunContext(
        run_id="run-1",
        job="bot",
        scheduled_for=scheduled_for,
        timezone=timezone,
        trigger="schedule",
    )


def noon(day: date) -> datetime:
    """Midday UTC on ``day``: the same date in UTC whatever the hour rounding."""
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


def write_contacts(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A contacts CSV of (id, name, birthday) rows; emails are derived from the id."""
    path = folder / "contacts.csv"
    lines = ["id,name,email,birthday"]
    lines += [f"{cid},{name},{cid}@example.org,{born}" for cid, name, born in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_profiles(folder: Path, ids: list[str]) -> Path:
    """A profiles CSV with one profile per id."""
    path = folder / "profiles.csv"
    lines = ["id,name,url"] + [f"{pid},Person {pid},https://example.org/{pid}" for pid in ids]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_birthday(
    tmp_path: Path,
    rows: list[tuple[str, str, str]],
    when: datetime,
    timezone: str = "UTC",
    **params: Any,
) -> dict[str, Any]:
    """Run the birthday bot on ``rows`` with its outbox in ``tmp_path/outbox``."""
    contacts = write_contacts(tmp_path, rows)
    full = {"contacts": str(contacts), "outbox": str(tmp_path / "outbox"), **params}
    return call_task(birthday, BIRTHDAY, full, context(when, timezone))


def greeted(tmp_path: Path) -> list[str]:
    """The addresses the outbox holds a greeting for (sorted, one per greeting file)."""
    outbox = tmp_path / "outbox"
    if not outbox.exists():
        return []
    out = []
    for path in outbox.iterdir():
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("To: "), path
        out.append(first.removeprefix("To: "))
    return sorted(out)


def md(day: date) -> str:
    """``day`` as a year-less ``--MM-DD`` birthday."""
    return day.strftime("--%m-%d")


def born(day: date, year: int = 1990) -> str:
    """``day``'s month and day as a full ``YYYY-MM-DD`` birthday in ``year``."""
    return day.replace(year=year).isoformat()


TODAY = date(2026, 6, 15)


# --- birthday: who is greeted --------------------------------------------------------


def test_birthday_today_is_greeted_and_others_are_not(tmp_path):
    """Only the contact whose birthday is the run's date gets a greeting file."""
    rows = [
        ("c1", "Ada Lovelace", born(TODAY)),
        ("c2", "Alan Turing", born(TODAY + timedelta(days=1))),
        ("c3", "Grace Hopper", md(TODAY - timedelta(days=1))),
    ]
    summary = run_birthday(tmp_path, rows, noon(TODAY))
    assert greeted(tmp_path) == ["c1@example.org"]
    assert summary["sent"] == 1
    assert summary["names"] == ["Ada Lovelace"]
    assert summary["date"] == "2026-06-15"
    assert summary["late"] == 0


def test_greeting_text_addresses_the_contact_by_first_name(tmp_path):
    """The greeting is addressed to the contact's email and wishes them by first name."""
    run_birthday(tmp_path, [("c1", "Ada Lovelace", md(TODAY))], noon(TODAY))
    (only,) = (tmp_path / "outbox").iterdir()
    text = only.read_text(encoding="utf-8")
    assert text.startswith("To: c1@example.org\n")
    assert "Happy birthday, Ada!" in text
    assert "late" not in text


def test_year_less_and_full_birthdays_are_both_read(tmp_path):
    """A ``--MM-DD`` birthday and a ``YYYY-MM-DD`` one on the same day are both greeted."""
    rows = [("c1", "Ada Lovelace", md(TODAY)), ("c2", "Alan Turing", born(TODAY, 1912))]
    summary = run_birthday(tmp_path, rows, noon(TODAY))
    assert greeted(tmp_path) == ["c1@example.org", "c2@example.org"]
    assert summary["sent"] == 2


def test_late_birthday_within_window_is_greeted_when_processing_late(tmp_path):
    """With process_late, a birthday 3 days ago (max 7) is greeted, saying it is late."""
    rows = [("c1", "Grace Hopper", md(TODAY - timedelta(days=3)))]
    summary = run_birthday(tmp_path, rows, noon(TODAY), process_late=True, max_days_late=7)
    assert greeted(tmp_path) == ["c1@example.org"]
    (only,) = (tmp_path / "outbox").iterdir()
    assert "3 day(s) ago" in only.read_text(encoding="utf-8")
    assert summary["sent"] == 1
    assert summary["late"] == 1


def test_late_birthday_is_not_greeted_without_process_late(tmp_path):
    """Without process_late, yesterday's birthday is not greeted, whatever max_days_late."""
    rows = [("c1", "Grace Hopper", md(TODAY - timedelta(days=1)))]
    summary = run_birthday(tmp_path, rows, noon(TODAY), process_late=False, max_days_late=30)
    assert greeted(tmp_path) == []
    assert summary["sent"] == 0
    assert not (tmp_path / "outbox").exists()


def test_late_window_includes_its_last_day(tmp_path):
    """A birthday exactly max_days_late days ago is still greeted."""
    rows = [("c1", "Grace Hopper", md(TODAY - timedelta(days=7)))]
    run_birthday(tmp_path, rows, noon(TODAY), process_late=True, max_days_late=7)
    assert greeted(tmp_path) == ["c1@example.org"]


def test_late_birthday_outside_window_is_not_greeted(tmp_path):
    """A birthday one day older than max_days_late is not greeted."""
    rows = [("c1", "Grace Hopper", md(TODAY - timedelta(days=8)))]
    summary = run_birthday(tmp_path, rows, noon(TODAY), process_late=True, max_days_late=7)
    assert greeted(tmp_path) == []
    assert summary["sent"] == 0


def test_max_days_late_zero_greets_only_today(tmp_path):
    """process_late with max_days_late 0 greets today's birthday but not yesterday's."""
    rows = [
        ("c1", "Ada Lovelace", md(TODAY)),
        ("c2", "Grace Hopper", md(TODAY - timedelta(days=1))),
    ]
    run_birthday(tmp_path, rows, noon(TODAY), process_late=True, max_days_late=0)
    assert greeted(tmp_path) == ["c1@example.org"]


def test_late_window_crosses_the_year_boundary(tmp_path):
    """A 30 December birthday is greeted, 3 days late, by a run on 2 January."""
    rows = [("c1", "Grace Hopper", "1950-12-30")]
    summary = run_birthday(
        tmp_path, rows, noon(date(2027, 1, 2)), process_late=True, max_days_late=7
    )
    assert greeted(tmp_path) == ["c1@example.org"]
    assert summary["late"] == 1
    (only,) = (tmp_path / "outbox").iterdir()
    assert "3 day(s) ago" in only.read_text(encoding="utf-8")


def test_leap_day_birthday_is_greeted_on_28_february_in_a_common_year(tmp_path):
    """A 29 February birthday is greeted on 28 February when the year has no 29th."""
    rows = [("c1", "Leap Person", "2000-02-29")]
    summary = run_birthday(tmp_path, rows, noon(date(2027, 2, 28)))
    assert greeted(tmp_path) == ["c1@example.org"]
    assert summary["late"] == 0


def test_leap_day_birthday_waits_for_the_29th_in_a_leap_year(tmp_path):
    """In a leap year a 29 February birthday is not greeted on the 28th, but on the 29th."""
    rows = [("c1", "Leap Person", "--02-29")]
    run_birthday(tmp_path, rows, noon(date(2028, 2, 28)))
    assert greeted(tmp_path) == []
    run_birthday(tmp_path, rows, noon(date(2028, 2, 29)))
    assert greeted(tmp_path) == ["c1@example.org"]


def test_leap_day_birthday_is_greeted_once_in_a_common_year(tmp_path):
    """Runs on 28 February then 1 March (late allowed) greet a 29 February birthday once."""
    rows = [("c1", "Leap Person", "--02-29")]
    run_birthday(tmp_path, rows, noon(date(2027, 2, 28)), process_late=True)
    second = run_birthday(tmp_path, rows, noon(date(2027, 3, 1)), process_late=True)
    assert greeted(tmp_path) == ["c1@example.org"]
    assert second["sent"] == 0
    assert second["already_sent"] == 1


# --- birthday: limits, dry run, idempotence ------------------------------------------


def test_max_messages_caps_the_greetings_written(tmp_path):
    """With 5 birthdays today and max_messages 2, two greetings are written, 3 over limit."""
    rows = [(f"c{i}", f"Person {i}", md(TODAY)) for i in range(1, 6)]
    summary = run_birthday(tmp_path, rows, noon(TODAY), max_messages=2)
    assert len(greeted(tmp_path)) == 2
    assert summary["sent"] == 2
    assert summary["over_limit"] == 3
    assert len(summary["names"]) == 2


def test_max_messages_prefers_todays_birthdays_over_late_ones(tmp_path):
    """When capped, today's birthdays are greeted before late ones."""
    rows = [
        ("a-late", "Late Person", md(TODAY - timedelta(days=2))),
        ("z-today", "Today Person", md(TODAY)),
    ]
    summary = run_birthday(tmp_path, rows, noon(TODAY), process_late=True, max_messages=1)
    assert greeted(tmp_path) == ["z-today@example.org"]
    assert summary["over_limit"] == 1
    assert summary["late"] == 0


def test_greetings_over_the_limit_are_sent_by_the_next_run(tmp_path):
    """A second run on the same date sends what the first left over the limit, and no more."""
    rows = [(f"c{i}", f"Person {i}", md(TODAY)) for i in range(1, 4)]
    run_birthday(tmp_path, rows, noon(TODAY), max_messages=2)
    second = run_birthday(tmp_path, rows, noon(TODAY), max_messages=2)
    assert greeted(tmp_path) == ["c1@example.org", "c2@example.org", "c3@example.org"]
    assert second["sent"] == 1
    assert second["already_sent"] == 2
    assert second["over_limit"] == 0


def test_dry_run_writes_nothing_but_reports_would_send(tmp_path):
    """dry_run creates no outbox folder and reports how many greetings it would send."""
    rows = [("c1", "Ada Lovelace", md(TODAY)), ("c2", "Alan Turing", md(TODAY))]
    summary = run_birthday(tmp_path, rows, noon(TODAY), dry_run=True)
    assert not (tmp_path / "outbox").exists()
    assert summary["dry_run"] is True
    assert summary["sent"] == 0
    assert summary["would_send"] == 2
    assert sorted(summary["names"]) == ["Ada Lovelace", "Alan Turing"]


def test_dry_run_does_not_count_as_sent_for_a_real_run(tmp_path):
    """A real run after a dry run still sends the greeting."""
    rows = [("c1", "Ada Lovelace", md(TODAY))]
    run_birthday(tmp_path, rows, noon(TODAY), dry_run=True)
    real = run_birthday(tmp_path, rows, noon(TODAY))
    assert real["sent"] == 1
    assert greeted(tmp_path) == ["c1@example.org"]


def test_second_run_does_not_greet_again(tmp_path):
    """Running twice for the same date greets once; the second run reports already_sent."""
    rows = [("c1", "Ada Lovelace", md(TODAY))]
    first = run_birthday(tmp_path, rows, noon(TODAY))
    (path,) = (tmp_path / "outbox").iterdir()
    before = path.read_text(encoding="utf-8")
    second = run_birthday(tmp_path, rows, noon(TODAY))
    assert first["sent"] == 1
    assert second["sent"] == 0
    assert second["already_sent"] == 1
    assert second["names"] == []
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [path.name]
    assert path.read_text(encoding="utf-8") == before


def test_overlapping_late_windows_do_not_greet_twice(tmp_path):
    """A late greeting sent yesterday is not sent again by today's run."""
    rows = [("c1", "Grace Hopper", md(TODAY - timedelta(days=2)))]
    run_birthday(tmp_path, rows, noon(TODAY - timedelta(days=1)), process_late=True)
    today = run_birthday(tmp_path, rows, noon(TODAY), process_late=True)
    assert greeted(tmp_path) == ["c1@example.org"]
    assert today["sent"] == 0
    assert today["already_sent"] == 1


def test_outbox_holds_no_temporary_files_after_a_run(tmp_path):
    """After a run the outbox holds exactly one file per greeting, none half-written."""
    rows = [(f"c{i}", f"Person {i}", md(TODAY)) for i in range(1, 4)]
    run_birthday(tmp_path, rows, noon(TODAY))
    names = [p.name for p in (tmp_path / "outbox").iterdir()]
    assert len(names) == 3
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]


# --- birthday: the run's date --------------------------------------------------------


def test_run_date_is_the_scheduled_date_in_the_jobs_timezone(tmp_path):
    """Scheduled 2026-11-28T23:30Z in Europe/Paris, the run greets 29 November birthdays."""
    rows = [("c28", "Nov Eight", "--11-28"), ("c29", "Nov Nine", "--11-29")]
    when = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    summary = run_birthday(tmp_path, rows, when, timezone="Europe/Paris")
    assert summary["date"] == "2026-11-29"
    assert greeted(tmp_path) == ["c29@example.org"]


def test_same_instant_in_utc_is_still_the_previous_day(tmp_path):
    """The same instant in a UTC job greets 28 November birthdays."""
    rows = [("c28", "Nov Eight", "--11-28"), ("c29", "Nov Nine", "--11-29")]
    when = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    summary = run_birthday(tmp_path, rows, when, timezone="UTC")
    assert summary["date"] == "2026-11-28"
    assert greeted(tmp_path) == ["c28@example.org"]


def test_run_date_west_of_utc_can_be_the_day_before(tmp_path):
    """Scheduled 2027-01-01T03:00Z in America/New_York, the run works on 31 December."""
    rows = [("c1", "Year End", "--12-31"), ("c2", "New Year", "--01-01")]
    when = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
    summary = run_birthday(tmp_path, rows, when, timezone="America/New_York")
    assert summary["date"] == "2026-12-31"
    assert greeted(tmp_path) == ["c1@example.org"]


# --- birthday: params ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"max_messages": 0}, "params.max_messages", "must be >= 1"),
        ({"max_messages": 10_001}, "params.max_messages", "must be <= 10000"),
        ({"max_days_late": -1}, "params.max_days_late", "must be >= 0"),
        ({"max_mesages": 3}, "params.max_mesages", "is not a parameter of this task"),
        ({"dry_run": "yes"}, "params.dry_run", "expected true or false"),
        ({"max_messages": "5"}, "params.max_messages", "expected a whole number"),
    ],
)
def test_invalid_birthday_params_raise_naming_the_field(tmp_path, params, field, fragment):
    """Invalid params raise TaskParamsError naming the field, and no greeting is written."""
    rows = [("c1", "Ada Lovelace", md(TODAY))]
    with pytest.raises(TaskParamsError) as info:
        run_birthday(tmp_path, rows, noon(TODAY), **params)
    assert info.value.task == BIRTHDAY
    assert any(p.startswith(f"{field}: ") and fragment in p for p in info.value.problems)
    assert field in str(info.value)
    assert not (tmp_path / "outbox").exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "params.limit"), ({"dry_run": "no"}, "params.dry_run"), ({"x": 1}, "params.x")],
)
def test_invalid_visitor_params_raise_naming_the_field(tmp_path, params, field):
    """Invalid visitor params raise TaskParamsError naming the field; no state is written."""
    full = {
        "profiles": str(write_profiles(tmp_path, ["p1"])),
        "state": str(tmp_path / "visits.json"),
        **params,
    }
    with pytest.raises(TaskParamsError, match=field):
        call_task(visitor, VISITOR, full, context(noon(TODAY)))
    assert not (tmp_path / "visits.json").exists()


# --- birthday: pure helpers ----------------------------------------------------------


def test_read_contacts_takes_month_and_day_from_both_formats(tmp_path):
    """read_contacts reads YYYY-MM-DD and --MM-DD birthdays as month and day."""
    path = write_contacts(tmp_path, [("c1", "Ada", "1815-12-10"), ("c2", "Alan", "--06-23")])
    contacts = read_contacts(path)
    assert [(c.id, c.email, c.month, c.day) for c in contacts] == [
        ("c1", "c1@example.org", 12, 10),
        ("c2", "c2@example.org", 6, 23),
    ]


def test_birthday_in_keeps_leap_day_on_28_february():
    """birthday_in gives 29 Feb in a leap year and 28 Feb in a common year."""
    leap = Contact("c1", "Leap", "l@example.org", 2, 29)
    assert birthday_in(leap, 2028) == date(2028, 2, 29)
    assert birthday_in(leap, 2027) == date(2027, 2, 28)


def test_greetings_due_lists_today_first_then_most_recent_late():
    """Due greetings are ordered by days late (today first), then by contact id."""
    people = [
        Contact("b", "B", "b@example.org", 6, 12),
        Contact("c", "C", "c@example.org", 6, 15),
        Contact("a", "A", "a@example.org", 6, 14),
        Contact("d", "D", "d@example.org", 6, 15),
    ]
    due = greetings_due(people, TODAY, process_late=True, max_days_late=7)
    assert [(g.contact.id, g.days_late) for g in due] == [("c", 0), ("d", 0), ("a", 1), ("b", 3)]


def test_a_contact_is_greeted_at_most_once_per_run(tmp_path):
    """Even with the widest late window, one run greets each contact at most once."""
    rows = [("c1", "Ada Lovelace", md(date(2027, 6, 1)))]
    summary = run_birthday(
        tmp_path, rows, noon(date(2027, 6, 1)), process_late=True, max_days_late=365
    )
    assert greeted(tmp_path) == ["c1@example.org"]
    assert summary["sent"] == 1


def test_impossible_birthday_is_not_greeted_on_28_february(tmp_path):
    """A contact whose birthday does not exist (31 April) is not greeted on 28 February."""
    rows = [("c1", "Typo Person", "--04-31")]
    run_birthday(tmp_path, rows, noon(date(2027, 2, 28)))
    assert greeted(tmp_path) == []


# --- visitor -------------------------------------------------------------------------


def run_visitor(tmp_path: Path, ids: list[str], when: datetime, **params: Any) -> dict[str, Any]:
    """Run the visitor bot on profiles ``ids`` with its state in ``tmp_path/visits.json``."""
    full = {
        "profiles": str(write_profiles(tmp_path, ids)),
        "state": str(tmp_path / "visits.json"),
        **params,
    }
    return call_task(visitor, VISITOR, full, context(when))


def read_state(tmp_path: Path) -> dict[str, datetime]:
    """The visits the state file records: profile id -> when it was visited."""
    data = json.loads((tmp_path / "visits.json").read_text(encoding="utf-8"))
    return {pid: datetime.fromisoformat(stamp) for pid, stamp in data.items()}


T1 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
T3 = datetime(2026, 6, 3, 9, 0, tzinfo=UTC)


def test_visitor_visits_up_to_limit_and_records_the_visits(tmp_path):
    """A first run visits `limit` profiles and records each at the run's scheduled time."""
    summary = run_visitor(tmp_path, ["p1", "p2", "p3", "p4"], T1, limit=3)
    assert summary["visited"] == 3
    assert summary["first"] == ["p1", "p2", "p3"]
    assert read_state(tmp_path) == {"p1": T1, "p2": T1, "p3": T1}


def test_visitor_visits_never_visited_profiles_first(tmp_path):
    """Profiles never visited come before any already visited one."""
    run_visitor(tmp_path, ["p1", "p2"], T1, limit=2)
    summary = run_visitor(tmp_path, ["p1", "p2", "p3", "p4"], T2, limit=2)
    assert summary["first"] == ["p3", "p4"]
    assert read_state(tmp_path) == {"p1": T1, "p2": T1, "p3": T2, "p4": T2}


def test_visitor_then_visits_the_least_recently_visited(tmp_path):
    """Once all were visited, the profile visited longest ago is visited next."""
    ids = ["p1", "p2", "p3"]
    run_visitor(tmp_path, ids, T1, limit=2)  # p1, p2 at T1
    run_visitor(tmp_path, ids, T2, limit=2)  # p3 (never), then p1 (T1, by id)
    third = run_visitor(tmp_path, ids, T3, limit=1)
    assert third["first"] == ["p2"]
    assert read_state(tmp_path) == {"p1": T2, "p2": T3, "p3": T2}


def test_visitor_keeps_visits_of_profiles_it_did_not_pick(tmp_path):
    """A run leaves the recorded visits of the profiles it did not visit unchanged."""
    (tmp_path / "visits.json").write_text(
        json.dumps({"p1": T2.isoformat(), "p2": T1.isoformat(), "gone": T1.isoformat()}),
        encoding="utf-8",
    )
    summary = run_visitor(tmp_path, ["p1", "p2"], T3, limit=1)
    assert summary["first"] == ["p2"]
    assert read_state(tmp_path) == {"p1": T2, "p2": T3, "gone": T1}


def test_visitor_dry_run_writes_no_state(tmp_path):
    """dry_run creates no state file and reports would_visit."""
    summary = run_visitor(tmp_path, ["p1", "p2", "p3"], T1, limit=2, dry_run=True)
    assert not (tmp_path / "visits.json").exists()
    assert summary["visited"] == 0
    assert summary["would_visit"] == 2
    assert summary["first"] == ["p1", "p2"]


def test_visitor_dry_run_leaves_existing_state_untouched(tmp_path):
    """dry_run leaves an existing state file byte for byte as it was."""
    state = tmp_path / "visits.json"
    state.write_text(json.dumps({"p1": T1.isoformat()}), encoding="utf-8")
    before = state.read_bytes()
    summary = run_visitor(tmp_path, ["p1", "p2"], T2, limit=2, dry_run=True)
    assert state.read_bytes() == before
    assert summary["first"] == ["p2", "p1"]


def test_visitor_limit_larger_than_profiles_visits_all(tmp_path):
    """A limit above the number of profiles visits each profile once."""
    summary = run_visitor(tmp_path, ["p1", "p2"], T1, limit=50)
    assert summary["visited"] == 2
    assert set(read_state(tmp_path)) == {"p1", "p2"}


def test_pick_profiles_orders_never_visited_then_oldest_visit():
    """pick_profiles returns never-visited profiles, then the oldest visits, up to limit."""
    profiles = [{"id": pid} for pid in ("p1", "p2", "p3", "p4")]
    visited = {"p1": T3.isoformat(), "p2": T1.isoformat(), "p4": T2.isoformat()}
    picked = pick_profiles(profiles, visited, 3)
    assert [p["id"] for p in picked] == ["p3", "p2", "p4"]
