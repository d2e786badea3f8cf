"""A loaded job: its validated spec, where it came from, and its compiled schedule."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import cached_property
from zoneinfo import ZoneInfo

from scheduler.core.catchup import MisfireRule
from scheduler.core.cronexpr import parse_cron
from scheduler.core.durations import parse_duration
from scheduler.core.models import DstSpec, JobSpec, ScheduleSpec
from scheduler.core.runs import RunRequest, RunTrigger, iso_utc, run_id
from scheduler.core.schedule import (
    EPOCH,
    AnyOf,
    AtSchedule,
    CronSchedule,
    IntervalSchedule,
    Jitter,
    Schedule,
    Window,
    jitter_delay,
)


@dataclass(frozen=True)
class LoadedJob:
    """A valid job and its source location (1-based line and column of its document)."""

    spec: JobSpec
    file: str
    line: int
    column: int = 1
    document: int = 0
    name_line: int = field(default=0, compare=False)
    #: The defaults files merged under this job, outermost first.
    defaults_files: tuple[str, ...] = field(default=(), compare=False)
    #: Where each field was written: dotted path ("schedule.cron") -> (line, column).
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, hash=False)

    def position(self, path: str) -> tuple[int, int]:
        """Line and column of the field at ``path``, or of its nearest written parent."""
        while path:
            found = self.positions.get(path)
            if found is not None:
                return found
            path = path.rpartition(".")[0]
        return self.line, self.column

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.spec.schedule.timezone)

    @cached_property
    def schedule(self) -> Schedule:
        return build_schedule(self.spec)

    @cached_property
    def definition_hash(self) -> str:
        """A digest of everything that defines the job (not where it is written).

        Retention (``history``) is left out: how long runs are kept says nothing of when
        or how the job runs, and digests stay those of the files written before it existed.
        """
        spec = self.spec.model_dump(mode="json", exclude={"history"})
        canonical = json.dumps(spec, sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    @cached_property
    def misfire(self) -> MisfireRule:
        """The job's misfire rule in the core's terms (``misfire:`` in the file)."""
        m = self.spec.misfire
        grace = None if m.grace is None else parse_duration(m.grace)
        return MisfireRule(policy=m.policy, grace=grace, max_catchup=m.max_catchup)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def run_request(
        self, instant: datetime, trigger: RunTrigger, *, canary: bool = False
    ) -> RunRequest:
        """What a worker needs to run this job for ``instant`` (the RQ job's payload).

        A ``canary`` run has ``dry_run: true`` forced into its params.
        """
        params = dict(self.spec.params)
        if canary:
            params["dry_run"] = True
        return RunRequest(
            run_id=run_id(self.name, instant, trigger),
            job=self.name,
            task=self.spec.task,
            params=params,
            scheduled_for=iso_utc(instant),
            trigger=trigger,
            queue=self.spec.queue,
            retries=0 if self.spec.retries is None else self.spec.retries.max,
            timezone=self.spec.schedule.timezone,
            canary=canary,
        )


def build_schedule(spec: JobSpec) -> Schedule:
    """The runnable schedule a job spec describes: kind, then window, then jitter."""
    sched = spec.schedule
    tz = ZoneInfo(sched.timezone)
    base = _kind_schedule(sched, tz, spec.dst)
    if sched.start is not None or sched.end is not None:
        base = Window(
            base,
            start=None if sched.start is None else sched.aware(sched.start).astimezone(UTC),
            end=None if sched.end is None else sched.aware(sched.end).astimezone(UTC),
        )
    if sched.jitter is not None:
        delay = jitter_delay(spec.name, parse_duration(sched.jitter))
        if delay:
            base = Jitter(base, delay)
    return base


def _kind_schedule(sched: ScheduleSpec, tz: ZoneInfo, dst: DstSpec | None = None) -> Schedule:
    rule = DstSpec() if dst is None else dst
    if sched.cron is not None:
        return CronSchedule(parse_cron(sched.cron), tz, rule.gap, rule.repeat)
    if sched.interval is not None:
        anchor = EPOCH if sched.anchor is None else sched.aware(sched.anchor).astimezone(UTC)
        return IntervalSchedule(parse_duration(sched.interval), anchor)
    if sched.daily is not None:
        return _times(sched.daily, "*", tz, rule)
    if sched.weekly is not None:
        days = ",".join(str(d.cron) for d in sorted(set(sched.weekly.days), key=lambda d: d.cron))
        return _times(sched.weekly.at, days, tz, rule)
    assert sched.at is not None
    return AtSchedule(sched.aware(sched.at).astimezone(UTC))


def _times(times: list[str], days: str, tz: ZoneInfo, rule: DstSpec) -> Schedule:
    parts: list[Schedule] = []
    for text in sorted(set(times)):
        t = time.fromisoformat(text)
        fields = f"{t.minute} {t.hour} * * {days}"
        if t.second:
            fields += f" {t.second}"
        parts.append(CronSchedule(parse_cron(fields), tz, rule.gap, rule.repeat))
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


def local_iso(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as local ISO-8601 with its UTC offset: 2026-03-29T03:00:00+02:00."""
    local = instant.astimezone(tz)
    return local.isoformat(timespec="microseconds" if local.microsecond else "seconds")
