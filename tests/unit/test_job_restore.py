"""A compact job unpickled without its constructor (the job cache's ``restore_job``) is
whole, a plain LoadedJob, and immutable."""

from __future__ import annotations

import pickle

import pytest

from scheduler.config.loader import parse_job_documents
from scheduler.core.job import LoadedJob
from scheduler.core.schedule import forget_restored

TEXT = """name: restored
task: examples.bots:heartbeat
schedule:
  cron: "7 3 * * * 9"
  timezone: Europe/Paris
"""


def _compact() -> LoadedJob:
    result = parse_job_documents(TEXT, "jobs.d/restored.yaml", positions=False)
    assert result.ok, result.errors
    return result.jobs[0].compact()


def test_an_unpickled_job_holds_every_slot_as_it_was() -> None:
    """Every slot comes back (in ``__slots__``' order), the object is a plain LoadedJob."""
    job = _compact()
    forget_restored()
    again = pickle.loads(pickle.dumps(job))
    assert type(again) is LoadedJob
    for name in LoadedJob.__slots__:
        if name == "_schedule":
            continue  # a new object, compared below
        assert getattr(again, name) == getattr(job, name), name
    assert again.schedule == job.schedule
    assert again.positions is job.positions  # the one shared empty table


def test_what_is_unpickled_stays_immutable() -> None:
    job = pickle.loads(pickle.dumps(_compact()))
    with pytest.raises(AttributeError):
        job.name = "other"
