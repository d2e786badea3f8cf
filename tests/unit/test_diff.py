"""Diffing two sets of jobs (pure): change kinds, field paths, next runs, warnings.

Catalogs are built from job texts with the real loader; ``NOW`` is fixed, so every
expected instant is written out as ISO-8601 with its offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.config.loader import parse_job_documents
from scheduler.core.catalog import Catalog, build_catalog
from scheduler.core.diff import (
    FREQUENCY_CAP,
    ChangeKind,
    FieldChange,
    JobChange,
    Plan,
    WarningCode,
    count_runs,
    diff_catalogs,
    field_changes,
    flatten,
)
from scheduler.core.schedule import IntervalSchedule

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # a Monday; Paris is on CEST (+02:00)


def job(name: str, schedule: str = "daily: '09:00'", extra: str = "") -> str:
    """A job document; ``schedule`` and ``extra`` are YAML lines (schedule indented)."""
    lines = "\n".join(f"  {line}" for line in schedule.splitlines())
    return f"name: {name}\ntask: pkg.mod:func\nschedule:\n{lines}\n{extra}"


def catalog(files: dict[str, str]) -> Catalog:
    """A catalog of ``{source: text}``, as the CLI would build it."""
    return build_catalog(parse_job_documents(text, source, NOW) for source, text in files.items())


def plan_of(
    old: dict[str, str], new: dict[str, str], old_root: str = "", new_root: str = ""
) -> Plan:
    """The plan from ``old`` to ``new`` (``{source: text}`` each) at NOW."""
    return diff_catalogs(catalog(old), catalog(new), NOW, old_root=old_root, new_root=new_root)


def only(plan: Plan, name: str) -> JobChange:
    """The one change about job ``name``."""
    found = [c for c in plan.changes if c.name == name]
    assert len(found) == 1, plan.changes
    return found[0]


def codes(change: JobChange) -> list[str]:
    return [w.code.value for w in change.warnings]


def iso(times: tuple[datetime, ...]) -> list[str]:
    return [t.isoformat() for t in times]


# --- change kinds ----------------------------------------------------------------------


def test_identical_job_is_unchanged_and_not_listed_for_review() -> None:
    """The same definition in the same file is unchanged, with no runs computed."""
    files = {"a.yaml": job("a")}
    plan = plan_of(files, files)
    change = only(plan, "a")
    assert change.kind is ChangeKind.unchanged
    assert change.fields == ()
    assert change.next_before == change.next_after == ()
    assert plan.changed == ()
    assert plan.summary == {"added": 0, "removed": 0, "renamed": 0, "changed": 0, "unchanged": 1}


def test_added_job_has_next_runs_after_in_its_timezone() -> None:
    """An added job: no runs before, its next 5 after in its own zone, with the offset."""
    plan = plan_of({}, {"a.yaml": job("a", "daily: '09:00'\ntimezone: Europe/Paris")})
    change = only(plan, "a")
    assert change.kind is ChangeKind.added
    assert change.old is None
    assert change.next_before == ()
    assert iso(change.next_after) == [f"2026-06-0{d}T09:00:00+02:00" for d in range(2, 7)]
    assert FieldChange(path="name", old=None, new="a") in change.fields
    assert FieldChange(path="schedule.timezone", old=None, new="Europe/Paris") in change.fields
    assert "previous_names" not in {f.path for f in change.fields}  # empty: not listed
    assert change.warnings == ()


def test_removed_job_warns_deleted_with_its_next_run() -> None:
    """A job only the old side has is removed, with a job-deleted warning."""
    plan = plan_of({"a.yaml": job("a", "cron: '30 8 * * *'")}, {})
    change = only(plan, "a")
    assert change.kind is ChangeKind.removed
    assert change.new is None
    assert iso(change.next_before)[0] == "2026-06-02T08:30:00+00:00"
    assert change.next_after == ()
    assert codes(change) == ["job-deleted"]
    assert "2026-06-02T08:30:00+00:00" in change.warnings[0].message
    assert plan.summary["removed"] == 1


def test_removed_disabled_job_says_it_was_disabled() -> None:
    """Deleting a disabled job still warns, saying it was not running anyway."""
    plan = plan_of({"a.yaml": job("a", extra="enabled: false\n")}, {})
    change = only(plan, "a")
    assert codes(change) == ["job-deleted"]
    assert "was disabled" in change.warnings[0].message
    assert change.next_before == ()


def test_changed_fields_are_dotted_paths_old_to_new() -> None:
    """Each differing leaf is listed by dotted path (schedule.cron, params.dry_run)."""
    old = job("a", "cron: '0 9 * * *'", "params:\n  dry_run: false\n  opts: {retries: 1}\n")
    new = job("a", "cron: '0 10 * * *'", "params:\n  dry_run: true\n  opts: {retries: 3}\n")
    change = only(plan_of({"a.yaml": old}, {"a.yaml": new}), "a")
    assert change.kind is ChangeKind.changed
    assert [(f.path, f.old, f.new) for f in change.fields] == [
        ("params.dry_run", False, True),
        ("params.opts.retries", 1, 3),
        ("schedule.cron", "0 9 * * *", "0 10 * * *"),
    ]
    assert iso(change.next_before)[0] == "2026-06-02T09:00:00+00:00"
    assert iso(change.next_after)[0] == "2026-06-02T10:00:00+00:00"
    assert len(change.next_before) == len(change.next_after) == 5


def test_schedule_kind_change_and_list_fields() -> None:
    """Switching kind lists both kinds; a list (daily times) is compared as a whole."""
    change = only(
        plan_of(
            {"a.yaml": job("a", "cron: '0 9 * * *'")},
            {"a.yaml": job("a", "daily: ['09:00', '18:00']")},
        ),
        "a",
    )
    assert [(f.path, f.old, f.new) for f in change.fields] == [
        ("schedule.cron", "0 9 * * *", None),
        ("schedule.daily", None, ["09:00", "18:00"]),
    ]


def test_param_added_and_removed_show_none_for_absent() -> None:
    """A params key only one side has is listed with None on the other."""
    change = only(
        plan_of(
            {"a.yaml": job("a", extra="params: {limit: 50}\n")},
            {"a.yaml": job("a", extra="params: {max: 10}\n")},
        ),
        "a",
    )
    assert [(f.path, f.old, f.new) for f in change.fields] == [
        ("params.limit", 50, None),
        ("params.max", None, 10),
    ]


def test_same_name_in_another_file_is_renamed() -> None:
    """A job moved to another file (git mv) is renamed, not removed and added."""
    plan = plan_of({"jobs.d/a.yaml": job("a")}, {"jobs.d/sub/b.yaml": job("a")})
    change = only(plan, "a")
    assert change.kind is ChangeKind.renamed
    assert change.moved
    assert change.old_name is None
    assert change.fields == ()
    assert change.next_before == change.next_after
    assert codes(change) == []
    assert plan.summary["renamed"] == 1


def test_files_compare_relative_to_each_root() -> None:
    """old/a.yaml and new/a.yaml are the same file once each side's root is removed."""
    plan = plan_of(
        {"old/a.yaml": job("a")},
        {"new/a.yaml": job("a", "daily: '10:00'")},
        old_root="old",
        new_root="new",
    )
    change = only(plan, "a")
    assert change.kind is ChangeKind.changed
    assert not change.moved


def test_git_style_root_with_ref_prefix() -> None:
    """A base read from git (REF:path) compares equal to the working-tree path."""
    plan = plan_of(
        {"HEAD~1:jobs.d/a.yaml": job("a")},
        {"jobs.d/a.yaml": job("a")},
        old_root="HEAD~1:jobs.d",
        new_root="jobs.d",
    )
    assert only(plan, "a").kind is ChangeKind.unchanged


def test_previous_names_makes_a_rename_not_add_and_remove() -> None:
    """A new job listing an old name in previous_names is that job renamed."""
    plan = plan_of(
        {"jobs.d/old.yaml": job("old-name", extra="params: {dry_run: true}\n")},
        {
            "jobs.d/old.yaml": job(
                "new-name", extra="params: {dry_run: true}\nprevious_names: [old-name]\n"
            )
        },
    )
    assert [c.name for c in plan.changes] == ["new-name"]
    change = plan.changes[0]
    assert change.kind is ChangeKind.renamed
    assert change.old_name == "old-name"
    assert not change.moved
    assert [(f.path, f.old, f.new) for f in change.fields] == [
        ("name", "old-name", "new-name"),
        ("previous_names", [], ["old-name"]),
    ]
    assert codes(change) == []  # no job-deleted, no possible-rename
    assert plan.summary == {"added": 0, "removed": 0, "renamed": 1, "changed": 0, "unchanged": 0}


def test_previous_names_with_move_and_change() -> None:
    """A rename that also moves the file and changes a field is one renamed change."""
    plan = plan_of(
        {"a.yaml": job("a", "daily: '09:00'")},
        {"b.yaml": job("b", "daily: '10:00'", "previous_names: [x, a]\n")},
    )
    change = only(plan, "b")
    assert change.kind is ChangeKind.renamed
    assert change.old_name == "a"
    assert change.moved
    assert "schedule.daily" in {f.path for f in change.fields}
    assert iso(change.next_before)[0] == "2026-06-02T09:00:00+00:00"
    assert iso(change.next_after)[0] == "2026-06-02T10:00:00+00:00"


def test_previous_name_not_on_old_side_is_an_add() -> None:
    """previous_names naming nothing that existed is just an added job."""
    plan = plan_of({}, {"b.yaml": job("b", extra="previous_names: [ghost]\n")})
    assert only(plan, "b").kind is ChangeKind.added


def test_previous_name_still_in_use_warns_and_does_not_rename() -> None:
    """An old name that is still a job is not taken over; the claimant gets a warning."""
    plan = plan_of(
        {"a.yaml": job("a")},
        {"a.yaml": job("a"), "b.yaml": job("b", extra="previous_names: [a]\n")},
    )
    assert only(plan, "a").kind is ChangeKind.unchanged
    b = only(plan, "b")
    assert b.kind is ChangeKind.added
    assert codes(b) == ["previous-name-in-use"]


def test_add_and_remove_in_one_file_hints_previous_names() -> None:
    """A job replaced by another name in the same file hints at previous_names."""
    plan = plan_of({"x.yaml": job("old")}, {"x.yaml": job("new")})
    assert only(plan, "old").kind is ChangeKind.removed
    new = only(plan, "new")
    assert new.kind is ChangeKind.added
    assert codes(new) == ["possible-rename"]
    assert "previous_names: [old]" in new.warnings[0].message


def test_disabled_job_has_no_runs_after_and_warns() -> None:
    """enabled true -> false: job-disabled, and no runs after (none will be dispatched)."""
    change = only(
        plan_of({"a.yaml": job("a")}, {"a.yaml": job("a", extra="enabled: false\n")}), "a"
    )
    assert [(f.path, f.old, f.new) for f in change.fields] == [("enabled", True, False)]
    assert codes(change) == ["job-disabled"]
    assert len(change.next_before) == 5
    assert change.next_after == ()


# --- warnings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "warned"),
    [
        ("dry_run: true", "dry_run: false", True),
        ("dry_run: true", "other: 1", True),  # removed: the task's default applies
        ("dry_run: false", "dry_run: true", False),
        ("dry_run: false", "dry_run: false", False),
        ("other: 1", "dry_run: false", False),
    ],
)
def test_dry_run_switched_off(before: str, after: str, warned: bool) -> None:
    """params.dry_run true -> false (or removed) is a switch to production."""
    change = only(
        plan_of(
            {"a.yaml": job("a", extra=f"params: {{{before}}}\n")},
            {"a.yaml": job("a", extra=f"params: {{{after}}}\n")},
        ),
        "a",
    )
    assert (WarningCode.dry_run_off.value in codes(change)) is warned


def test_added_job_in_production_is_not_a_switch_but_is_flagged() -> None:
    """A new job with dry_run: false switched nothing off, but runs for real: production-job."""
    change = only(plan_of({}, {"a.yaml": job("a", extra="params: {dry_run: false}\n")}), "a")
    assert codes(change) == [WarningCode.production_job.value]


def test_timezone_change_warns_and_runs_use_each_zone() -> None:
    """A time zone change warns; before runs are in the old zone, after in the new."""
    change = only(
        plan_of(
            {"a.yaml": job("a", "daily: '09:00'\ntimezone: Europe/Paris")},
            {"a.yaml": job("a", "daily: '09:00'\ntimezone: America/New_York")},
        ),
        "a",
    )
    assert codes(change) == ["timezone-changed"]
    assert "Europe/Paris -> America/New_York" in change.warnings[0].message
    assert iso(change.next_before)[0] == "2026-06-02T09:00:00+02:00"
    assert iso(change.next_after)[0] == "2026-06-01T09:00:00-04:00"  # 13:00 UTC, after NOW


def daily_at(count: int) -> str:
    """A daily schedule at ``count`` whole hours from 00:00."""
    times = ", ".join(f"'{h:02d}:00'" for h in range(count))
    return f"daily: [{times}]"


@pytest.mark.parametrize(("times", "warned"), [(10, False), (11, True)])
def test_more_frequent_boundary_is_strictly_more_than_10x(times: int, warned: bool) -> None:
    """7 runs in 7 days -> 70 is exactly 10x (no warning); -> 77 is more (warning)."""
    change = only(
        plan_of({"a.yaml": job("a", "daily: '09:00'")}, {"a.yaml": job("a", daily_at(times))}),
        "a",
    )
    assert (WarningCode.more_frequent.value in codes(change)) is warned
    if warned:
        message = change.warnings[0].message
        assert message.startswith("will run 11x as often")
        assert "77 runs in the next 7 days, was 7 runs" in message


def test_more_frequent_from_a_monthly_job_counts_over_a_year() -> None:
    """A job with no run in the next 7 days is compared over 366 days (12 vs 366)."""
    change = only(
        plan_of(
            {"a.yaml": job("a", "cron: '0 0 1 * *'")},
            {"a.yaml": job("a", "cron: '0 0 * * *'")},
        ),
        "a",
    )
    assert codes(change) == ["more-frequent"]
    assert "30.5x" in change.warnings[0].message


def test_more_frequent_past_the_cap_uses_rates() -> None:
    """Every 30 s -> every second is 30x, measured over the first FREQUENCY_CAP runs."""
    change = only(
        plan_of({"a.yaml": job("a", "interval: 30s")}, {"a.yaml": job("a", "interval: 1s")}),
        "a",
    )
    assert codes(change) == ["more-frequent"]
    assert "30x as often" in change.warnings[0].message
    assert "about 86,400 runs a day" in change.warnings[0].message


def test_less_frequent_or_disabled_is_not_more_frequent() -> None:
    """Fewer runs, or a job disabled on the new side, never warn more-frequent."""
    slower = only(
        plan_of({"a.yaml": job("a", "interval: 1m")}, {"a.yaml": job("a", "interval: 1h")}),
        "a",
    )
    assert codes(slower) == []
    off = only(
        plan_of(
            {"a.yaml": job("a", "interval: 1h")},
            {"a.yaml": job("a", "interval: 1s", "enabled: false\n")},
        ),
        "a",
    )
    assert codes(off) == ["job-disabled"]


def test_count_runs_caps_and_measures_the_span() -> None:
    """Past FREQUENCY_CAP runs the span is the time to the last counted run."""
    capped = count_runs(IntervalSchedule(timedelta(seconds=1)), NOW, timedelta(days=7))
    assert (capped.count, capped.span, capped.capped) == (
        FREQUENCY_CAP,
        timedelta(seconds=FREQUENCY_CAP),
        True,
    )
    hourly = count_runs(IntervalSchedule(timedelta(hours=1)), NOW, timedelta(days=7))
    assert (hourly.count, hourly.span, hourly.capped) == (168, timedelta(days=7), False)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("at: '2026-01-01T09:00:00'", "schedule.at 2026-01-01T09:00:00 is in the past"),
        ("daily: '09:00'\nend: '2026-05-01T00:00:00'", "schedule.end 2026-05-01T00:00:00"),
        ("at: '2028-01-01T09:00:00'", "no run in the next 366 days (the first is 2028-01-01"),
        ("cron: '0 0 29 2 *'", "the first is 2028-02-29T00:00:00+00:00"),
    ],
)
def test_schedule_that_never_fires(schedule: str, expected: str) -> None:
    """No run within 366 days of now (a past at, an ended window, a far leap day) warns."""
    change = only(plan_of({}, {"a.yaml": job("a", schedule)}), "a")
    assert codes(change) == ["never-fires"]
    assert expected in change.warnings[0].message


def test_changed_job_that_stops_firing_warns() -> None:
    """A change that moves a one-shot into the past warns never-fires."""
    change = only(
        plan_of(
            {"a.yaml": job("a", "at: '2026-07-01T09:00:00'")},
            {"a.yaml": job("a", "at: '2026-05-01T09:00:00'")},
        ),
        "a",
    )
    assert codes(change) == ["never-fires"]
    assert change.next_after == ()


def test_disabled_job_that_never_fires_is_not_warned() -> None:
    """A disabled job not firing is what disabled means: no never-fires."""
    change = only(
        plan_of({}, {"a.yaml": job("a", "at: '2020-01-01T00:00:00'", "enabled: false\n")}), "a"
    )
    assert codes(change) == []


def test_invalid_old_file_is_a_warning_and_its_jobs_show_as_added() -> None:
    """An invalid file on the old side: plan-wide base-invalid, its jobs unknown (added)."""
    broken = "name: a\ntask: pkg.mod:func\nschedule:\n  cron: 'not a cron'\n"
    plan = plan_of(
        {"HEAD~1:jobs.d/a.yaml": broken, "HEAD~1:jobs.d/b.yaml": job("b")},
        {"jobs.d/a.yaml": job("a"), "jobs.d/b.yaml": job("b")},
        old_root="HEAD~1:jobs.d",
        new_root="jobs.d",
    )
    assert [w.code for w in plan.warnings] == [WarningCode.base_invalid]
    message = plan.warnings[0].message
    assert "HEAD~1:jobs.d/a.yaml:4:" in message
    assert "schedule.cron" in message
    assert "its jobs (a) are unknown" in message
    a = only(plan, "a")
    assert a.kind is ChangeKind.added
    assert codes(a) == ["base-invalid"]
    assert only(plan, "b").kind is ChangeKind.unchanged
    assert [w.code for w in plan.all_warnings] == [WarningCode.base_invalid] * 2


def test_changes_are_sorted_by_name_and_warnings_follow() -> None:
    """Changes come sorted by name; all_warnings lists plan-wide ones, then per job."""
    plan = plan_of(
        {"z.yaml": job("z"), "m.yaml": job("m", extra="params: {dry_run: true}\n")},
        {"a.yaml": job("a"), "m.yaml": job("m", extra="params: {dry_run: false}\n")},
    )
    assert [c.name for c in plan.changes] == ["a", "m", "z"]
    assert [(w.job, w.code.value) for w in plan.all_warnings] == [
        ("m", "dry-run-off"),
        ("z", "job-deleted"),
    ]


def test_naive_now_is_rejected() -> None:
    """The core needs an aware 'now'."""
    with pytest.raises(ValueError, match="aware"):
        diff_catalogs(Catalog(), Catalog(), datetime(2026, 6, 1))


def test_runs_count_is_respected() -> None:
    """``runs`` sets how many next runs each side gets."""
    plan = diff_catalogs(Catalog(), catalog({"a.yaml": job("a")}), NOW, runs=2)
    assert len(only(plan, "a").next_after) == 2


def test_flatten_and_field_changes_helpers() -> None:
    """flatten keeps lists and empty mappings as leaves; field_changes of equal specs is ()."""
    assert flatten({"a": {"b": 1, "c": {}}, "d": [1]}) == {"a.b": 1, "a.c": {}, "d": [1]}
    spec = catalog({"a.yaml": job("a")}).jobs["a"].spec
    assert field_changes(spec, spec) == ()
