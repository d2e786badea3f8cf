"""A loaded job: its validated spec, where it came from, and its compiled schedule."""

from __future__ import annotations

import hashlib
import json
import operator
import sys
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast
from zoneinfo import ZoneInfo

from scheduler.core.canonical import canonical_json, json_exact
from scheduler.core.durations import parse_duration
from scheduler.core.jobjson import json_fields, json_schedule, leaves_out
from scheduler.core.jobschedule import plain_schedule_of
from scheduler.core.localtime import DEFAULT_TIMEZONE
from scheduler.core.modelrefs import job_spec, schedule_builder, serialization_error
from scheduler.core.policies import (
    DEFAULT_MAX_CATCHUP,
    DEFAULT_MISFIRE_POLICY,
    MisfirePolicy,
    OverlapPolicy,
)
from scheduler.core.slotrestore import slot_restorer

# What `scheduler next` never asks for is imported when asked (issue 13); the job model
# (pydantic) where a spec is built, read or dumped (modelrefs).
if TYPE_CHECKING:
    from scheduler.core.catchup import MisfireRule
    from scheduler.core.models import JobSpec
    from scheduler.core.plainjob import PlainJob
    from scheduler.core.policyspecs import HistorySpec
    from scheduler.core.runs import RunRequest, RunTrigger
    from scheduler.core.schedule import Schedule

_NO_POSITIONS: dict[str, tuple[int, int]] = {}


class LoadedJob:
    """A valid job and its source location (1-based line and column of its document).

    Immutable. The watcher holds every job for good, so ``compact()`` gives the same job
    without its pydantic spec kept (a dozen objects per job): the spec's canonical JSON
    stays (its params in it, unless JSON would not give them back as they are), the
    fields the watcher reads on every turn are plain attributes, and ``spec`` is
    validated again from that JSON when asked for (the last few thousand are cached).
    """

    __slots__ = (
        "_hash",
        "_misfire",
        "_params",
        "_schedule",
        "_spec",
        "_spec_json",
        "canary",
        "column",
        "defaults_files",
        "document",
        "enabled",
        "file",
        "line",
        "name",
        "name_line",
        "overlap",
        "positions",
        "previous_names",
        "queue",
    )

    _spec: JobSpec | None
    _spec_json: bytes | None
    _params: Params | None
    _hash: str | None
    _misfire: MisfireRule | None
    _schedule: Schedule | None
    file: str
    line: int
    column: int
    document: int
    name_line: int
    defaults_files: tuple[str, ...]
    positions: dict[str, tuple[int, int]]
    name: str
    enabled: bool
    canary: int
    overlap: OverlapPolicy
    queue: str
    previous_names: tuple[str, ...]

    def __init__(
        self,
        spec: JobSpec,
        file: str,
        line: int,
        column: int = 1,
        document: int = 0,
        name_line: int = 0,
        defaults_files: tuple[str, ...] = (),
        positions: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        s = object.__setattr__
        s(self, "_spec", spec)
        s(self, "_spec_json", None)
        s(self, "_params", None)
        s(self, "_hash", None)
        s(self, "_misfire", None)
        s(self, "_schedule", None)
        s(self, "file", file)
        s(self, "line", line)
        s(self, "column", column)
        s(self, "document", document)
        s(self, "name_line", name_line)
        #: The defaults files merged under this job, outermost first.
        s(self, "defaults_files", defaults_files)
        #: Where each field was written: dotted path ("schedule.cron") -> (line, column).
        s(self, "positions", positions or _NO_POSITIONS)
        s(self, "name", sys.intern(spec.name))
        s(self, "enabled", spec.enabled)
        s(self, "canary", spec.canary)
        s(self, "overlap", spec.overlap)
        s(self, "queue", sys.intern(spec.queue))
        s(self, "previous_names", tuple(spec.previous_names))

    def __reduce__(self) -> tuple[Any, ...]:
        if self._spec is not None:
            raise TypeError("only a compact LoadedJob is pickled (see compact())")
        return (restore_job, (_slot_values(self),))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"LoadedJob is immutable (cannot set {name})")

    def compact(self, *, resolved: bool = True) -> LoadedJob:
        """This job without its spec object kept (see the class); computes what it caches,
        unless not ``resolved``: then it is left out, worked out if asked (validate's helper
        sends back jobs only reported on: 0.2 s, not 0.65, and 5.6 MB, not 6.5, at 10k files)."""
        spec = self._spec
        if spec is None and resolved:
            return self
        if resolved:  # worked out (cached) here, then every slot copied as it is
            self.schedule, self.definition_hash, self.misfire  # noqa: B018
        job = restore_job(_slot_values(self))
        for name in () if resolved else ("_hash", "_misfire", "_schedule"):
            object.__setattr__(job, name, None)
        if spec is None:
            return job
        s = object.__setattr__
        data = _spec_json(spec, with_params=True) if json_exact(spec.params) else None
        if data is None:
            s(job, "_spec_json", _spec_json(spec, with_params=False))
            s(job, "_params", Params(spec.params))
        else:  # its params come back from the JSON as they were: no dict of them kept
            s(job, "_spec_json", data)
        s(job, "_spec", None)
        return job

    def _key(self) -> tuple[object, ...]:
        return (self.spec, self.file, self.line, self.column, self.document)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LoadedJob):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.name, self.file, self.line, self.column, self.document))

    def __repr__(self) -> str:
        return f"LoadedJob(name={self.name!r}, file={self.file!r}, line={self.line})"

    @property
    def spec(self) -> JobSpec:
        """The validated job document (rebuilt from its JSON for a compact job)."""
        spec = self._spec
        if spec is None:
            assert self._spec_json is not None
            return _spec_from_json(self._spec_json, self._params)
        return spec

    @property
    def params(self) -> dict[str, Any]:
        """The task's keyword arguments (``spec.params``; a compact job's spec not rebuilt)."""
        if self._params is None and self._spec is None and self._spec_json is not None:
            return cast(dict[str, Any], json.loads(self._spec_json).get("params", {}))
        return self._params.value if self._params is not None else self.spec.params

    def position(self, path: str) -> tuple[int, int]:
        """Line and column of the field at ``path``, or of its nearest written parent."""
        while path:
            found = self.positions.get(path)
            if found is not None:
                return found
            path = path.rpartition(".")[0]
        return self.line, self.column

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)

    @property
    def timezone_name(self) -> str:
        """The job's ``schedule.timezone`` (a compact job's spec not rebuilt for it)."""
        fields = self.json_schedule
        if fields is None:
            return self.spec.schedule.timezone
        return str(fields.get("timezone", DEFAULT_TIMEZONE))

    @property
    def json_schedule(self) -> Mapping[str, Any] | None:
        """A compact job's ``schedule:`` from its JSON (no defaults, no spec rebuilt), else None."""
        data = self._spec_json
        return json_schedule(data) if self._spec is None and data is not None else None

    @property
    def schedule(self) -> Schedule:
        found = self._schedule
        if found is None:
            found = schedule_builder()(self.spec)
            object.__setattr__(self, "_schedule", found)
        return found

    @property
    def definition_hash(self) -> str:
        """A digest of everything that defines the job (not where it is written).

        Retention (``history``) is left out: how long runs are kept says nothing of when
        or how the job runs, and digests stay those of the files written before it existed.
        """
        found = self._hash
        if found is None:
            spec = self.spec.model_dump(mode="json")
            del spec["history"]  # cheaper than asking the serializer to leave it out
            canonical = canonical_json(spec)
            found = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
            object.__setattr__(self, "_hash", found)
        return found

    @property
    def history(self) -> HistorySpec | None:
        """The job's ``history:`` (None for most), without rebuilding a compact job's spec
        to find that out: its JSON leaves defaults out, so no such key means none (the
        idle pruner asks for every job's, and a rebuild each was 2 s at 100,000 jobs)."""
        return None if self.leaves_default("history") else self.spec.history

    def leaves_default(self, *fields: str) -> bool:
        """A compact job whose JSON holds none of these top-level ``fields``: each has its
        default, known without rebuilding its spec (nor importing the model: 8 MB of a
        watcher at 100,000 jobs). A field's name written elsewhere (a param's key or
        value) only sends the caller to the spec."""
        data = self._spec_json
        return self._spec is None and data is not None and leaves_out(data, fields)

    @property
    def misfire(self) -> MisfireRule:
        """The job's misfire rule in the core's terms (``misfire:`` in the file)."""
        found = self._misfire
        if found is None:
            m = self.spec.misfire
            found = _misfire_rule(m.policy, m.grace, m.max_catchup)
            object.__setattr__(self, "_misfire", found)
        return found

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def run_request(
        self, instant: datetime, trigger: RunTrigger, *, canary: bool = False
    ) -> RunRequest:
        """What a worker needs to run this job for ``instant`` (the RQ job's payload).

        A ``canary`` run has ``dry_run: true`` forced into its params.
        """
        from scheduler.core.runs import RunRequest, iso_utc, run_id

        if self.leaves_default("retries"):  # a compact job's (nearly all): read off its JSON
            assert self._spec_json is not None
            fields = json_fields(self._spec_json)
            task, retries = fields["task"], 0
            params = dict(fields.get("params", {}) if self._params is None else self._params.value)
        else:
            spec = self.spec
            task, params = spec.task, dict(spec.params)
            retries = 0 if spec.retries is None else spec.retries.max
        if canary:
            params["dry_run"] = True
        return RunRequest(
            run_id=run_id(self.name, instant, trigger),
            job=self.name,
            task=task,
            params=params,
            scheduled_for=iso_utc(instant),
            trigger=trigger,
            queue=self.queue,
            retries=retries,
            timezone=self.timezone_name,
            canary=canary,
        )


@lru_cache(maxsize=4096)
def _misfire_rule(policy: MisfirePolicy, grace: str | None, max_catchup: int) -> MisfireRule:
    """One rule per distinct misfire setting (most jobs share a few)."""
    from scheduler.core.catchup import MisfireRule

    delay = None if grace is None else parse_duration(grace)
    return _shared(MisfireRule(policy=policy, grace=delay, max_catchup=max_catchup))


#: Specs of compact jobs rebuilt lately: a burst reads the same few thousand many times.
@lru_cache(maxsize=4096)
def _spec_from_json(data: bytes, params: Params | None) -> JobSpec:
    spec = job_spec().model_validate_json(data)
    return spec if params is None else spec.model_copy(update={"params": params.value})


def _spec_json(spec: JobSpec, *, with_params: bool) -> bytes | None:
    """The spec as JSON, its params in it or not; None if they cannot be written so."""
    exclude = None if with_params else {"params"}
    try:
        return spec.model_dump_json(exclude_defaults=True, exclude=exclude).encode()
    except serialization_error():  # text JSON cannot hold (a lone surrogate)
        if with_params:
            return None
        raise


class Params:
    """A job's params that JSON would not give back as they are, hashed by identity (for
    the cache above): each such job holds its own."""

    __slots__ = ("value",)

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (Params, (self.value,))


_slot_values = operator.attrgetter(*LoadedJob.__slots__)


_restore_slots = slot_restorer(LoadedJob)


def restore_job(state: tuple[Any, ...]) -> LoadedJob:
    """A compact job from its pickled slots (``LoadedJob.__reduce__``; the job cache)."""
    job = _restore_slots(state)
    if not job.positions:  # one empty dict for all, as built (not one per job unpickled)
        object.__setattr__(job, "positions", _NO_POSITIONS)
    return job


#: Where a job was written, as ``LoadedJob`` takes it after its spec: file, line, column,
#: document, name_line, defaults_files, positions.
Place = tuple[str, int, int, int, int, tuple[str, ...], dict[str, tuple[int, int]]]


def from_plain(plain: PlainJob, place: Place) -> LoadedJob:
    """The compact job of a document ``plainjob`` accepted, written at ``place``: in every
    slot what ``LoadedJob(JobSpec.model_validate(document), *place).compact()`` holds,
    with no model built."""
    file, line, column, document, name_line, defaults_files, positions = place
    slots = {
        "_hash": plain.definition_hash,
        "_misfire": _misfire_rule(DEFAULT_MISFIRE_POLICY, None, DEFAULT_MAX_CATCHUP),
        "_params": None if plain.params is None else Params(plain.params),
        "_schedule": plain_schedule_of(plain.schedule, plain.name),
        "_spec": None,
        "_spec_json": plain.spec_json,
        "canary": plain.canary,
        "column": column,
        "defaults_files": defaults_files,
        "document": document,
        "enabled": plain.enabled,
        "file": file,
        "line": line,
        "name": sys.intern(plain.name),
        "name_line": name_line,
        "overlap": plain.overlap,
        "positions": positions or _NO_POSITIONS,
        "previous_names": plain.previous_names,
        "queue": sys.intern(plain.queue),
    }
    return restore_job(tuple(slots[name] for name in LoadedJob.__slots__))


_SHARED: dict[object, object] = {}
_T = TypeVar("_T")


def _shared(value: _T) -> _T:
    """One object for equal immutable values held by many jobs (bounded: few distinct)."""
    if len(_SHARED) > 10_000:
        return value
    return _SHARED.setdefault(value, value)  # type: ignore[return-value]
