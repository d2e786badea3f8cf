"""The job-document loader: valid documents, and located errors and warnings.

Every error is checked by its exact (line, column, path) triple, taken from where the
offending value (or key) is written in the YAML text. Lines and columns are 1-based.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from scheduler.config.loader import parse_job_documents
from scheduler.core.catalog import FileResult
from scheduler.core.errors import JobFileError
from scheduler.core.job import LoadedJob
from scheduler.core.models import Weekday

SOURCE = "jobs.d/example.yaml"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HEAD = "name: job\ntask: pkg.mod:func\n"


def load(text: str, now: datetime | None = None) -> FileResult:
    """Parse ``text`` as the contents of SOURCE."""
    return parse_job_documents(text, SOURCE, now)


def only_job(text: str, now: datetime | None = None) -> LoadedJob:
    """The single job ``text`` defines; fails if there are errors or warnings."""
    result = load(text, now)
    assert result.errors == []
    assert result.warnings == []
    assert len(result.jobs) == 1
    return result.jobs[0]


def triples(text: str, now: datetime | None = None) -> list[tuple[int, int, str]]:
    """The (line, column, path) of every error in ``text``, and no job loaded."""
    result = load(text, now)
    assert result.jobs == []
    return [(e.line, e.column, e.path) for e in result.errors]


def single_error(text: str) -> JobFileError:
    """The one error ``text`` produces."""
    result = load(text)
    assert result.jobs == []
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# --- valid documents -----------------------------------------------------------------


def test_cron_schedule_loads():
    """A cron job loads with its fields and the defaults for the rest."""
    job = only_job(HEAD + "schedule:\n  cron: '0 9 * * 1-5'\n")
    assert job.name == "job"
    assert job.spec.task == "pkg.mod:func"
    assert job.spec.schedule.cron == "0 9 * * 1-5"
    assert job.spec.schedule.kind == "cron"
    assert job.spec.schedule.timezone == "UTC"
    assert job.spec.queue == "default"
    assert job.spec.enabled is True
    assert job.spec.params == {}
    assert (job.file, job.line, job.column, job.document) == (SOURCE, 1, 1, 0)


@pytest.mark.parametrize(
    "expr", ["* * * * * */5", "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually"]
)
def test_cron_six_fields_and_macros_load(expr):
    """Six-field (seconds last) expressions and the documented macros are accepted."""
    job = only_job(HEAD + f"schedule:\n  cron: '{expr}'\n")
    assert job.spec.schedule.cron == expr


def test_interval_schedule_loads():
    """An interval job loads, with its anchor and a jitter shorter than the interval."""
    job = only_job(
        HEAD + "schedule:\n  interval: 1h30m\n  jitter: 5m\n  anchor: 2026-01-01T00:10:00\n"
    )
    sched = job.spec.schedule
    assert sched.kind == "interval"
    assert sched.interval == "1h30m"
    assert sched.jitter == "5m"
    assert sched.anchor == datetime(2026, 1, 1, 0, 10)


def test_daily_single_time_loads():
    """`daily` with one quoted time is a list of one time."""
    job = only_job(HEAD + "schedule:\n  daily: '09:00'\n")
    assert job.spec.schedule.daily == ["09:00"]
    assert job.spec.schedule.kind == "daily"


def test_daily_list_of_times_loads():
    """`daily` takes a list of times, quoted or not, seconds allowed."""
    job = only_job(HEAD + "schedule:\n  daily: ['09:00', 18:30, '23:59:30']\n")
    assert job.spec.schedule.daily == ["09:00", "18:30", "23:59:30"]


def test_daily_unquoted_time_is_not_base_60():
    """`daily: 10:00` unquoted stays the time 10:00, not YAML 1.1's integer 600."""
    job = only_job(HEAD + "schedule:\n  daily: 10:00\n")
    assert job.spec.schedule.daily == ["10:00"]
    first = job.schedule.next_after(datetime(2026, 6, 1, tzinfo=UTC))
    assert first == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_weekly_schedule_loads():
    """`weekly` takes short or long day names and one or more times."""
    job = only_job(HEAD + "schedule:\n  weekly:\n    days: [mon, Thursday]\n    at: 10:00\n")
    weekly = job.spec.schedule.weekly
    assert weekly is not None
    assert weekly.days == [Weekday.mon, Weekday.thu]
    assert weekly.at == ["10:00"]
    assert job.spec.schedule.kind == "weekly"


def test_at_schedule_loads():
    """`at` is one ISO-8601 local date-time."""
    job = only_job(HEAD + "schedule:\n  at: 2026-12-24T18:00:00\n  timezone: Europe/Paris\n")
    assert job.spec.schedule.at == datetime(2026, 12, 24, 18, 0)
    assert job.spec.schedule.kind == "at"
    assert job.schedule.next_after(NOW) == datetime(2026, 12, 24, 17, 0, tzinfo=UTC)


def test_at_with_offset_keeps_the_offset():
    """An `at` written with a UTC offset is that instant."""
    job = only_job(HEAD + "schedule:\n  at: 2026-12-24T18:00:00+02:00\n")
    assert job.spec.schedule.at == datetime(2026, 12, 24, 18, tzinfo=timezone(timedelta(hours=2)))


def test_timezone_jitter_and_window_load():
    """timezone, jitter, start and end all apply to a cron schedule."""
    job = only_job(
        HEAD + "schedule:\n"
        "  cron: '0 9 * * *'\n"
        "  timezone: Europe/Paris\n"
        "  jitter: 30s\n"
        "  start: 2026-01-01T00:00:00\n"
        "  end: 2026-12-31\n"
    )
    sched = job.spec.schedule
    assert sched.timezone == "Europe/Paris"
    assert sched.jitter == "30s"
    assert sched.start == datetime(2026, 1, 1)
    assert sched.end == datetime(2026, 12, 31)


def test_all_optional_job_fields_load():
    """description, queue, params and enabled are read as written, in any key order."""
    job = only_job(
        "description: Greet contacts\n"
        "params:\n  dry_run: true\n  max_messages: 10\n"
        "queue: low\n"
        "enabled: false\n"
        "name: birthday-daily\n"
        "task: examples.bots:birthday\n"
        "schedule:\n  cron: '0 9 * * *'\n"
    )
    assert job.spec.description == "Greet contacts"
    assert job.spec.params == {"dry_run": True, "max_messages": 10}
    assert job.spec.queue == "low"
    assert job.spec.enabled is False
    assert job.name == "birthday-daily"


def test_multi_document_file_loads_every_job():
    """Documents separated by `---` are separate jobs, each with its own position."""
    text = (
        "# two jobs\n"
        "name: one\ntask: m:f\nschedule:\n  cron: '*/5 * * * *'\n"
        "---\n"
        "name: two\ntask: m:f\nschedule:\n  daily: 10:00\n"
    )
    result = load(text)
    assert result.errors == []
    assert [(j.name, j.line, j.document) for j in result.jobs] == [("one", 2, 0), ("two", 7, 1)]


def test_trailing_empty_document_is_ignored():
    """A trailing `---` (an empty document) adds no job, error or warning."""
    text = HEAD + "schedule: {cron: '* * * * *'}\n---\n"
    result = load(text)
    assert [j.name for j in result.jobs] == ["job"]
    assert result.errors == []
    assert result.warnings == []


def test_bad_document_does_not_hide_good_one():
    """In a multi-document file, a bad document's errors sit beside the good job."""
    text = HEAD + "schedule: {cron: '* * * * *'}\n---\nname: b\n"
    result = load(text)
    assert [j.name for j in result.jobs] == ["job"]
    assert [(e.line, e.column, e.path) for e in result.errors] == [
        (5, 1, "task"),
        (5, 1, "schedule"),
    ]
    assert not result.ok


def test_problem_as_dict_has_the_validate_json_shape():
    """Each problem turns into {file, line, column, path, message} for `validate --format json`."""
    error = single_error(HEAD + "schedule:\n  cron: '61 * * * *'\n")
    assert error.severity == "error"
    assert error.as_dict() == {
        "file": SOURCE,
        "line": 4,
        "column": 9,
        "path": "schedule.cron",
        "message": error.message,
    }
    assert error.file == SOURCE


# --- located errors --------------------------------------------------------------------


def test_bad_cron_field_is_located_at_the_value():
    """A cron minute out of range points at schedule.cron and names the field."""
    error = single_error(HEAD + "schedule:\n  cron: '61 * * * *'\n")
    assert (error.line, error.column, error.path) == (4, 9, "schedule.cron")
    assert "minute" in error.message
    assert "61" in error.message


def test_quartz_style_cron_says_seconds_go_last():
    """`0 30 9 * * *` (seconds first) is an error whose message says seconds go last."""
    error = single_error(HEAD + "schedule:\n  cron: '0 30 9 * * *'\n")
    assert (error.line, error.column, error.path) == (4, 9, "schedule.cron")
    assert "hour" in error.message
    assert "seconds last" in error.message
    assert "30 9 * * * 0" in error.message


def test_cron_that_never_fires_is_an_error():
    """`0 0 30 2 *` (30 February) is rejected rather than loaded as an idle job."""
    error = single_error(HEAD + "schedule:\n  cron: '0 0 30 2 *'\n")
    assert (error.line, error.column, error.path) == (4, 9, "schedule.cron")
    assert "never fires" in error.message


def test_cron_given_as_number_is_a_type_error():
    """An unquoted number where cron text is expected is located at the value."""
    error = single_error(HEAD + "schedule:\n  cron: 5\n")
    assert (error.line, error.column, error.path) == (4, 9, "schedule.cron")
    assert "expected text" in error.message


def test_unknown_top_level_field_suggests_the_right_one():
    """A misspelt `schedul` is unknown (at its key) and `schedule` is then missing."""
    text = HEAD + "schedul:\n  cron: '* * * * *'\n"
    result = load(text)
    assert result.jobs == []
    by_path = {e.path: e for e in result.errors}
    assert [(e.line, e.column, e.path) for e in result.errors] == [
        (1, 1, "schedule"),
        (3, 1, "schedul"),
    ]
    assert "did you mean 'schedule'?" in by_path["schedul"].message
    assert "missing" in by_path["schedule"].message


def test_unknown_field_inside_schedule_suggests_the_right_one():
    """A misspelt `timezon` inside schedule is located at its key, with a suggestion."""
    error = single_error(HEAD + "schedule:\n  cron: '* * * * *'\n  timezon: UTC\n")
    assert (error.line, error.column, error.path) == (5, 3, "schedule.timezon")
    assert "unknown field 'timezon'" in error.message
    assert "did you mean 'timezone'?" in error.message


def test_unknown_field_without_close_match_lists_allowed_fields():
    """An unknown field with no near match lists what is allowed."""
    error = single_error(HEAD + "schedule: {cron: '* * * * *'}\nxyzzy: 1\n")
    assert (error.line, error.column, error.path) == (4, 1, "xyzzy")
    assert "allowed:" in error.message
    assert "schedule" in error.message


def test_missing_required_field_is_located_at_the_document():
    """A missing `task` points at the start of its document."""
    error = single_error("# comment\nname: job\nschedule:\n  cron: '* * * * *'\n")
    assert (error.line, error.column, error.path) == (2, 1, "task")
    assert "required field 'task' is missing" in error.message


def test_missing_nested_field_is_located_at_its_parent_key():
    """weekly without `at` points at the `weekly` key."""
    error = single_error(HEAD + "schedule:\n  weekly:\n    days: [mon]\n")
    assert (error.line, error.column, error.path) == (4, 3, "schedule.weekly.at")
    assert "missing" in error.message


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (
            HEAD + "enabled: 'yes'\nschedule: {cron: '* * * * *'}\n",
            (3, 10, "enabled"),
            "expected true or false, got the text 'yes'",
        ),
        (
            "name: 123\ntask: m:f\nschedule: {cron: '* * * * *'}\n",
            (1, 7, "name"),
            'expected text, got the number 123 (quote it: "123")',
        ),
        (
            "name: off\ntask: m:f\nschedule: {cron: '* * * * *'}\n",
            (1, 7, "name"),
            "expected text, got the boolean false (quote it: YAML reads unquoted yes, no, on, "
            "off, true and false as booleans)",
        ),
        (
            HEAD + "params: [1, 2]\nschedule: {cron: '* * * * *'}\n",
            (3, 9, "params"),
            "expected a mapping",
        ),
        (
            HEAD + "schedule: '* * * * *'\n",
            (3, 11, "schedule"),
            "expected a mapping",
        ),
        (
            HEAD + "schedule:\n",
            (3, 10, "schedule"),
            "got nothing (null)",
        ),
        (
            HEAD + "schedule:\n  weekly: {days: mon, at: '10:00'}\n",
            (4, 18, "schedule.weekly.days"),
            "expected a list",
        ),
    ],
    ids=[
        "enabled-string",
        "name-number",
        "name-boolean",
        "params-list",
        "schedule-string",
        "schedule-null",
        "days-not-list",
    ],
)
def test_wrong_type_is_located_at_the_value(text, where, words):
    """A value of the wrong YAML type is reported at the value, saying what it got."""
    error = single_error(text)
    assert (error.line, error.column, error.path) == where
    assert words in error.message


def test_unknown_timezone_suggests_a_close_name():
    """A misspelt zone is located at the value and suggests the real one."""
    error = single_error(HEAD + "schedule:\n  cron: '* * * * *'\n  timezone: Europe/Pari\n")
    assert (error.line, error.column, error.path) == (5, 13, "schedule.timezone")
    assert "unknown time zone 'Europe/Pari'" in error.message
    assert "did you mean 'Europe/Paris'?" in error.message


def test_timezone_in_wrong_case_says_names_are_case_sensitive():
    """`europe/paris` suggests `Europe/Paris` and explains why."""
    error = single_error(HEAD + "schedule:\n  cron: '* * * * *'\n  timezone: europe/paris\n")
    assert (error.line, error.column, error.path) == (5, 13, "schedule.timezone")
    assert "'Europe/Paris'" in error.message
    assert "case-sensitive" in error.message


@pytest.mark.parametrize("zone", ["../../etc/passwd", "/etc/localtime", "", "zone.tab"])
def test_timezone_that_is_a_path_or_file_is_unknown(zone):
    """Zone names that are file paths, or files of the tz database that are not zones, fail."""
    error = single_error(HEAD + f"schedule:\n  cron: '* * * * *'\n  timezone: '{zone}'\n")
    assert (error.line, error.column, error.path) == (5, 13, "schedule.timezone")
    assert "unknown time zone" in error.message


@pytest.mark.parametrize("name", ["../etc", "a/b", "a\\\\b", ".."])
def test_name_with_path_characters_is_rejected(name):
    """A job name that looks like a path is an error at the name's value."""
    error = single_error(f'name: "{name}"\ntask: m:f\nschedule: {{cron: "* * * * *"}}\n')
    assert (error.line, error.column, error.path) == (1, 7, "name")
    assert "looks like a path" in error.message


@pytest.mark.parametrize("name", ["Upper", "-dash-first", "has space", "x" * 64])
def test_name_outside_the_pattern_is_rejected(name):
    """Names must match ^[a-z0-9][a-z0-9._-]{0,62}$."""
    error = single_error(f'name: "{name}"\ntask: m:f\nschedule: {{cron: "* * * * *"}}\n')
    assert (error.line, error.column, error.path) == (1, 7, "name")


def test_task_that_is_not_an_import_path_is_rejected():
    """`task` must read package.module:function."""
    error = single_error("name: job\ntask: os.system\nschedule: {cron: '* * * * *'}\n")
    assert (error.line, error.column, error.path) == (2, 7, "task")
    assert "import path" in error.message


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        ("-5m", "negative"),
        ("0s", "zero"),
        ("0m", "zero"),
        ("15", "no unit"),
        ("'15'", "no unit"),
        ("fortnight", "not a duration"),
        ("30m1h", "out of order"),
        ("3651d", "longer than ten years"),
    ],
)
def test_bad_interval_is_located_at_the_value(duration, words):
    """Negative, zero, unitless and malformed durations are errors at schedule.interval."""
    error = single_error(HEAD + f"schedule:\n  interval: {duration}\n")
    assert (error.line, error.column, error.path) == (4, 13, "schedule.interval")
    assert words in error.message


def test_bad_jitter_duration_is_located_at_the_jitter():
    """A unitless jitter is an error at schedule.jitter."""
    error = single_error(HEAD + "schedule:\n  cron: '* * * * *'\n  jitter: 15\n")
    assert (error.line, error.column, error.path) == (5, 11, "schedule.jitter")
    assert "no unit" in error.message


@pytest.mark.parametrize("jitter", ["10m", "1h"])
def test_jitter_not_shorter_than_interval_is_an_error(jitter):
    """jitter >= interval is reported at schedule.jitter, not at the schedule."""
    error = single_error(HEAD + f"schedule:\n  interval: 10m\n  jitter: {jitter}\n")
    assert (error.line, error.column, error.path) == (5, 11, "schedule.jitter")
    assert "not shorter than the interval" in error.message


def test_start_after_end_is_located_at_start():
    """A window whose start is after its end is reported at schedule.start."""
    error = single_error(
        HEAD + "schedule:\n  cron: '* * * * *'\n"
        "  start: 2027-01-01T00:00:00\n  end: 2026-01-01T00:00:00\n"
    )
    assert (error.line, error.column, error.path) == (5, 10, "schedule.start")
    assert "is after end" in error.message


def test_start_after_end_compares_instants_across_offsets():
    """start with +02:00 compared with a naive end reads end in the schedule's zone."""
    error = single_error(
        HEAD + "schedule:\n  cron: '* * * * *'\n"
        "  start: 2026-06-01T10:00:00+02:00\n  end: 2026-06-01T07:00:00\n"
    )
    assert (error.line, error.column, error.path) == (5, 10, "schedule.start")


def test_anchor_without_interval_is_located_at_anchor():
    """anchor on a cron schedule is reported at schedule.anchor."""
    error = single_error(HEAD + "schedule:\n  cron: '* * * * *'\n  anchor: 2026-01-01T00:00:00\n")
    assert (error.line, error.column, error.path) == (5, 11, "schedule.anchor")
    assert "interval" in error.message


def test_two_schedule_kinds_are_an_error():
    """cron and interval together are one error on the schedule naming both."""
    error = single_error(HEAD + "schedule:\n  cron: '* * * * *'\n  interval: 5m\n")
    assert (error.line, error.column, error.path) == (4, 3, "schedule")
    assert "exactly one of" in error.message
    assert "cron, interval" in error.message


def test_no_schedule_kind_is_an_error():
    """A schedule with only options and no kind says none was found."""
    error = single_error(HEAD + "schedule:\n  timezone: UTC\n")
    assert (error.line, error.column, error.path) == (4, 3, "schedule")
    assert "found: none" in error.message


def test_list_items_are_located_by_index():
    """Each bad time in a daily list is its own error, with a [index] path and its column."""
    text = HEAD + "schedule:\n  daily: ['10:00', '25:00', 'x']\n"
    assert triples(text) == [
        (4, 20, "schedule.daily[1]"),
        (4, 29, "schedule.daily[2]"),
    ]


def test_block_list_items_are_located_by_index():
    """Bad items in block lists point at their own lines."""
    text = (
        HEAD + "schedule:\n  weekly:\n    days:\n      - mon\n      - xyz\n"
        "    at:\n      - '10:00'\n      - 25:00\n"
    )
    assert triples(text) == [
        (7, 9, "schedule.weekly.days[1]"),
        (10, 9, "schedule.weekly.at[1]"),
    ]


def test_daily_number_asks_for_quotes():
    """A bare number as a time of day says to write "HH:MM" in quotes."""
    error = single_error(HEAD + "schedule:\n  daily: 600\n")
    assert (error.line, error.column, error.path) == (4, 10, "schedule.daily[0]")
    assert "in quotes" in error.message


def test_empty_daily_list_is_an_error():
    """`daily: []` needs at least one time."""
    error = single_error(HEAD + "schedule:\n  daily: []\n")
    assert (error.line, error.column, error.path) == (4, 10, "schedule.daily")


def test_every_error_in_a_document_is_reported():
    """Several problems in one document are all reported, in document order."""
    text = (
        "name: Bad/Name\n"
        "task: nope\n"
        "schedule:\n"
        "  cron: '99 * * * *'\n"
        "  timezone: Mars/Olympus\n"
        "  colour: blue\n"
        "enabled: 1\n"
    )
    assert triples(text) == [
        (1, 7, "name"),
        (2, 7, "task"),
        (4, 9, "schedule.cron"),
        (5, 13, "schedule.timezone"),
        (6, 3, "schedule.colour"),
        (7, 10, "enabled"),
    ]


def test_errors_in_each_document_are_reported():
    """Errors in two documents of one file are each located in their own document."""
    text = (
        HEAD + "schedule: {cron: '61 * * * *'}\n"
        "---\n"
        "name: other\ntask: m:f\nschedule: {interval: 0s}\n"
    )
    assert triples(text) == [(3, 18, "schedule.cron"), (7, 22, "schedule.interval")]


def test_duplicate_top_level_key_is_located_at_the_second():
    """A repeated key is an error at the second one, naming the first one's line."""
    error = single_error("name: a\ntask: m:f\nname: b\nschedule: {cron: '* * * * *'}\n")
    assert (error.line, error.column, error.path) == (3, 1, "name")
    assert "duplicate key 'name'" in error.message
    assert "line 1" in error.message


def test_duplicate_nested_key_is_located_at_the_second():
    """A key repeated inside schedule is located there, with its dotted path."""
    error = single_error(HEAD + "schedule:\n  cron: '* * * * *'\n  cron: '0 * * * *'\n")
    assert (error.line, error.column, error.path) == (5, 3, "schedule.cron")
    assert "first given on line 4" in error.message


def test_duplicate_key_in_flow_mapping_is_located():
    """Flow mappings are checked for duplicates too."""
    error = single_error(HEAD + "schedule: {daily: '10:00', daily: '11:00'}\n")
    assert (error.line, error.column, error.path) == (3, 28, "schedule.daily")
    assert "first given on line 3" in error.message


def test_syntax_error_is_located():
    """Broken YAML is one error at the place the parser gave up, with no path."""
    error = single_error("name: job\ntask: [m:f\nschedule: x\n")
    assert error.line >= 2
    assert error.column >= 1
    assert error.path == ""
    assert error.message.startswith("YAML syntax error")


# --- warnings that depend on the date ------------------------------------------------


def test_one_shot_in_the_past_warns_when_now_is_given():
    """An `at` before `now` is valid but warns at schedule.at."""
    result = load(HEAD + "schedule:\n  at: 2020-01-01T00:00:00\n", now=NOW)
    assert [j.name for j in result.jobs] == ["job"]
    assert result.errors == []
    assert [(w.line, w.column, w.path) for w in result.warnings] == [(4, 7, "schedule.at")]
    warning = result.warnings[0]
    assert warning.severity == "warning"
    assert "in the past" in warning.message
    assert result.ok


def test_one_shot_in_the_future_does_not_warn():
    """An `at` after `now` gives no warning."""
    only_job(HEAD + "schedule:\n  at: 2030-01-01T00:00:00\n", now=NOW)


def test_one_shot_is_read_in_its_timezone_for_the_warning():
    """`at` 13:30 in Paris (11:30 UTC) is already past at 12:00 UTC."""
    result = load(
        HEAD + "schedule:\n  at: 2026-06-01T13:30:00\n  timezone: Europe/Paris\n", now=NOW
    )
    assert [w.path for w in result.warnings] == ["schedule.at"]


def test_window_that_ended_warns_when_now_is_given():
    """An `end` before `now` is valid but warns at schedule.end."""
    result = load(HEAD + "schedule:\n  cron: '* * * * *'\n  end: 2020-01-01T00:00:00\n", now=NOW)
    assert [j.name for j in result.jobs] == ["job"]
    assert result.errors == []
    assert [(w.line, w.column, w.path) for w in result.warnings] == [(5, 8, "schedule.end")]
    assert "ended" in result.warnings[0].message


@pytest.mark.parametrize(
    "cron",
    ["0 0 1 1 *", "0 9 * * 1", "30 2 * * 0"],
    ids=["croniter", "day-table", "day-table-dst"],
)
def test_window_left_without_a_run_warns_at_the_schedule(cron):
    """A window that ends before the next run says the schedule has no future run."""
    result = load(
        HEAD + f"schedule:\n  cron: '{cron}'\n  timezone: Europe/Paris\n"
        "  end: 2026-06-05T00:00:00\n",
        now=datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
    )
    assert [(w.line, w.path, w.message) for w in result.warnings] == [
        (4, "schedule", "this schedule has no future run")
    ]


@pytest.mark.parametrize(
    "cron", ["0 0 29 2 *", "0 9 * * 1", "*/15 * * * *", "30 2 * * *", "@yearly"]
)
def test_cron_without_an_end_has_a_future_run(cron):
    """A cron without an end always runs again: no warning (a day's table is not asked)."""
    only_job(HEAD + f"schedule:\n  cron: '{cron}'\n  timezone: Europe/Paris\n", now=NOW)


@pytest.mark.parametrize(
    "schedule",
    ["  at: 2020-01-01T00:00:00\n", "  cron: '* * * * *'\n  end: 2020-01-01T00:00:00\n"],
    ids=["at", "end"],
)
def test_no_dated_warnings_without_now(schedule):
    """Without `now`, the result depends on the text alone: no date-based warnings."""
    only_job(HEAD + "schedule:\n" + schedule)


def test_same_text_gives_same_result():
    """The loader is pure: the same text gives equal problems every time."""
    text = HEAD + "schedule:\n  cron: '61 * * * *'\n  timezon: UTC\n"
    assert load(text).errors == load(text).errors


# --- date-times at the edge of the representable range --------------------------------


def test_window_at_the_start_of_time_never_raises():
    """start/end in year 1 in Asia/Tokyo give a result (an error at schedule.start, or a job)."""
    result = load(
        HEAD + "schedule:\n  cron: '* * * * *'\n"
        "  start: 0001-01-01\n  end: 0001-01-02\n  timezone: Asia/Tokyo\n"
    )
    assert all(e.path.startswith("schedule") for e in result.errors)


@pytest.mark.parametrize("now", [NOW, None], ids=["with-now", "without-now"])
def test_at_at_the_end_of_time_never_raises(now):
    """An `at` that cannot be an instant is refused at schedule.at, or loads and computes."""
    result = load(
        HEAD + "schedule:\n  at: 9999-12-31T23:59:59\n  timezone: America/New_York\n", now=now
    )
    for job in result.jobs:
        job.schedule.next_after(NOW)
    assert all(e.path == "schedule.at" for e in result.errors)


@pytest.mark.parametrize("now", [NOW, None], ids=["with-now", "without-now"])
def test_anchor_at_the_start_of_time_never_raises(now):
    """An anchor that cannot be an instant is refused at schedule.anchor, or loads and computes."""
    result = load(
        HEAD + "schedule:\n  interval: 1m\n  anchor: 0001-01-01\n  timezone: Asia/Tokyo\n", now=now
    )
    for job in result.jobs:
        job.schedule.next_after(NOW)
    assert all(e.path == "schedule.anchor" for e in result.errors)


# --- params keys: keyword names ------------------------------------------------------------

SCHEDULE = "schedule: {interval: 1m}\n"


def test_number_as_a_params_key_is_located_on_the_key():
    """`1: one` under params is an error at the key: a task's keyword names are strings."""
    error = single_error(HEAD + "params:\n  dry_run: true\n  1: one\n" + SCHEDULE)
    assert (error.line, error.column, error.path) == (5, 3, "params.1")
    assert error.message == 'keyword names must be strings, got the number 1 (quote it: "1")'


@pytest.mark.parametrize(
    ("key", "column", "path", "read_as"),
    [
        ("1", 10, "params.1", "the number 1"),
        ("on", 10, "params.on", "the boolean true"),
        ("null", 10, "params.null", "nothing (null)"),
        ("2.5", 10, "params.2.5", "the number 2.5"),
        ("2026-01-01", 10, "params.2026-01-01", "the date 2026-01-01"),
    ],
    ids=["int", "yaml-1.1-bool", "null", "float", "date"],
)
def test_non_text_params_key_in_a_flow_mapping(key, column, path, read_as):
    """Each key YAML reads as a non-string is named as written, with what YAML made of it."""
    error = single_error(HEAD + f"params: {{{key}: x}}\n" + SCHEDULE)
    assert (error.line, error.column, error.path) == (3, column, path)
    assert error.message == f'keyword names must be strings, got {read_as} (quote it: "{key}")'


def test_quoted_params_key_is_text():
    """A quoted key is a string: the job loads with it."""
    job = only_job(HEAD + "params: {'1': one}\n" + SCHEDULE)
    assert job.spec.params == {"1": "one"}


def test_non_text_keys_below_params_are_data():
    """Only the keyword names are checked: a nested mapping is a value the task receives."""
    job = only_job(HEAD + "params:\n  rows: {1: a}\n" + SCHEDULE)
    assert job.spec.params == {"rows": {"1": "a"}}


def test_params_key_error_is_listed_with_the_others():
    """A bad keyword name does not hide the document's other errors, in document order."""
    text = HEAD + "params:\n  7: x\nschedule: {interval: 1x}\n"
    assert triples(text) == [(4, 3, "params.7"), (5, 22, "schedule.interval")]
