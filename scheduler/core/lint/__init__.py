"""The schedule linter: valid schedules that probably do not do what their author meant.

Pure: ``now`` (aware) is an argument and no clock is read. Every finding is a
``JobFileWarning`` located at the schedule field it is about (``schedule.cron``,
``schedule.daily[1]``, ...), with a stable ``code``; ``validate --strict`` turns them
into errors.

============  ========================================================================
code          fires when
============  ========================================================================
step-uneven   an open-ended step (``*/n`` or ``a/n``) wraps around its field unevenly:
              minute ``*/45`` fires at :00 and :45 (45 then 15 minutes apart), hour
              ``*/5`` leaves 4 hours from 20h to 00h, day-of-month ``*/2`` fires on the
              31st and the 1st, minute ``*/90`` fires once an hour. A step with an
              explicit end (``0-30/20``) says where it stops and is not flagged.
day-or-trap   day-of-month and day-of-week are both restricted (neither begins with
              ``*`` nor is ``?``): a day matches when EITHER matches (Vixie cron), so
              ``0 9 1-7 * 1`` runs on days 1-7 and on every Monday.
rare-date     the smallest day-of-month named is 29, 30 or 31, so the job's months
              that are shorter get no run at all: 31 runs in 7 months, 30 skips
              February, 29 runs in February only in leap years (not with a restricted
              day-of-week: that OR still runs). A date that never occurs
              (``0 0 31 2 *``) is already a validation error.
dst-skipped   a fixed local time (cron with minute and hour not beginning with ``*``,
              ``daily``, ``weekly``, ``at``) does not exist on a spring-forward night
              within 12 months: that night the job runs once, at the end of the gap.
dst-repeated  such a time occurs twice on a fall-back night within 12 months: the job
              runs once, at the first pass.
pile-up       more than ``pile_up_threshold`` enabled jobs are due in one minute of the
              next 24 hours. One warning per job involved, at its most crowded minute,
              naming the others and suggesting ``schedule.jitter``.
============  ========================================================================

Scope, on purpose:

* Elapsed-time cron schedules (minute or hour beginning with ``*``) follow real time on
  DST nights by design and get no dst-* warning; nor does ``interval``.
* dst-* looks at the zone's offset changes in (now, now + 365 days], computed once per
  zone, and asks the cron fields whether they match inside each gap or overlap; it does
  not walk a year of runs. A one-shot ``at`` is checked on its own date, if in the future.
* Disabled jobs get every warning but pile-up, which counts only jobs that will be
  dispatched. Jobs of rejected files are not linted (they are not in the catalog).
* pile-up samples at most 200 runs per job in (now, now + 24 h] of its schedule without
  jitter, each then moved by the job's stable jitter delay; a job counts once per minute.

The rules live one family a module: ``cronfields`` (step-uneven, day-or-trap, rare-date),
``dst`` (dst-skipped, dst-repeated) and ``pileup``; ``common`` holds the codes and the
wording they share.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from scheduler.core.catalog import Catalog, JobFindings
from scheduler.core.cronexpr import parse_cron
from scheduler.core.errors import JobFileWarning
from scheduler.core.job import LoadedJob
from scheduler.core.lint.common import LintCode, warning
from scheduler.core.lint.cronfields import (
    day_or_message,
    next_leap_day,
    rare_date_message,
    step_messages,
)
from scheduler.core.lint.dst import DST_HORIZON, DstRules
from scheduler.core.lint.pileup import (
    PILE_UP_MAX_RUNS,
    PILE_UP_WINDOW,
    RunCache,
    pile_ups,
    run_minutes,
)

__all__ = [
    "DST_HORIZON",
    "PILE_UP_MAX_RUNS",
    "PILE_UP_WINDOW",
    "LintCode",
    "job_findings",
    "lint_catalog",
    "lint_job",
]


def lint_catalog(
    catalog: Catalog, now: datetime, *, pile_up_threshold: int = 20
) -> list[JobFileWarning]:
    """Every lint warning for the valid jobs of ``catalog``, sorted by file and position.

    ``now`` is aware. ``pile_up_threshold`` is the most jobs one minute may hold without
    a warning. A job's ``FileResult.findings`` for the same ``now`` (``job_findings``, run
    where it was parsed) are taken as they are.
    """
    linter = _Linter(now)
    jobs = list(catalog.jobs.values())
    by_file = {f.file: f for f in catalog.files}
    found: list[JobFileWarning] = []
    findings: dict[str, JobFindings] = {}
    for job in jobs:
        ahead = by_file[job.file].findings.get(job.name) if job.file in by_file else None
        if ahead is None or ahead.now != linter.now:
            ahead = linter.findings(job)
        found += ahead.warnings
        findings[job.name] = ahead
    found += pile_ups(jobs, findings, pile_up_threshold)
    return sorted(found, key=lambda w: (w.file, w.line, w.column))


def job_findings(jobs: Iterable[LoadedJob], now: datetime) -> dict[str, JobFindings]:
    """What linting each of ``jobs`` alone finds (by name), for ``lint_catalog`` to take.

    Called once per file: the linter of the last ``now`` is kept (its zone transitions and
    the runs of the schedules seen so far are worth keeping across files)."""
    linter = _linter_at(now)
    return {job.name: linter.findings(job) for job in jobs}


@lru_cache(maxsize=1)
def _linter_at(now: datetime) -> _Linter:
    return _Linter(now)


def lint_job(job: LoadedJob, now: datetime) -> list[JobFileWarning]:
    """The warnings about one job alone (every code but pile-up); ``now`` is aware."""
    return _Linter(now).job(job)


class _Linter:
    """The per-job rules for one ``now``: the cron-field rules, then the DST rules."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"naive datetime {now!r}: the linter needs an aware now")
        self.now = now.astimezone(UTC)
        self._leap_year = next_leap_day(self.now)
        self._dst = DstRules(self.now)
        self._runs = RunCache(self.now)  # pile-up runs, kept across jobs

    def findings(self, job: LoadedJob) -> JobFindings:
        sched = job.spec.schedule
        minutes = run_minutes(job, self._runs)
        warnings = tuple(self.job(job))
        return JobFindings(self.now, warnings, minutes, sched.timezone, sched.jitter, sched.kind)

    def job(self, job: LoadedJob) -> list[JobFileWarning]:
        out: list[JobFileWarning] = []
        sched = job.spec.schedule
        if sched.cron is not None:
            fields = parse_cron(sched.cron).fields
            found: list[tuple[LintCode, str | None]] = [
                (LintCode.step_uneven, m) for m in step_messages(fields)
            ]
            found.append((LintCode.day_or_trap, day_or_message(fields)))
            found.append((LintCode.rare_date, rare_date_message(fields, self._leap_year)))
            out += [warning(job, "schedule.cron", code, m) for code, m in found if m]
        return out + self._dst.warnings(job)
