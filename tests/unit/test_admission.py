"""Admission decisions as a table: (situation, decision), no database and no Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler.core.admission import Active, Admit, Decision, Hold, Replace, Skip, decide
from scheduler.core.pause import Pause
from scheduler.core.policies import OverlapPolicy, Reason
from scheduler.core.runs import RunRequest, RunStatus, RunTrigger

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ME = "a--20261128T120000Z"
FORBID, REPLACE, QUEUE_ONE, ALLOW = (
    OverlapPolicy.forbid,
    OverlapPolicy.replace_,
    OverlapPolicy.queue_one,
    OverlapPolicy.allow,
)
CATCH_UP = RunTrigger.catch_up


def run(run_id: str, *, waiting: bool = False, started: bool = False) -> Active:
    """An active run of job ``a``: started in RQ, queued in RQ, or waiting (queue_one)."""
    return Active(
        job="a",
        run_id=run_id,
        scheduled_for=T0 - timedelta(minutes=1),
        trigger=RunTrigger.schedule,
        status=RunStatus.started if started else RunStatus.enqueued,
        waiting=waiting,
    )


RUNNING = run("a--r1", started=True)
QUEUED = run("a--q1")
WAITING = run("a--w1", waiting=True)
ITSELF = run(ME)
FOREVER = Pause(job="a", by="ops", at=T0, reason="INC-1")
UNTIL_NOW = Pause(job="a", by="ops", at=T0 - timedelta(hours=1), reason="INC-2", until=T0)
UNTIL_LATER = Pause(job="a", by="bob", at=T0, reason="deploy", until=T0 + timedelta(minutes=5))


def situation(
    policy: OverlapPolicy | None,
    *active: Active,
    trigger: RunTrigger = RunTrigger.schedule,
    pause: Pause | None = None,
    catching_up: bool = False,
) -> dict[str, Any]:
    """The situation of run ME of job ``a``: what :func:`decide` takes besides ``now``."""
    return {
        "run_id": ME,
        "trigger": trigger,
        "policy": policy,
        "active": active,
        "pause": pause,
        "catching_up": catching_up,
    }


def overlap(note: str) -> Skip:
    return Skip(reason=Reason.overlap, note=note)


ROWS: list[tuple[str, dict[str, Any], Decision]] = [
    # -- nothing to weigh
    ("allow, a run started", situation(ALLOW, RUNNING, WAITING), Admit()),
    ("job not loaded, a run started", situation(None, RUNNING), Admit()),
    ("forbid, nothing active", situation(FORBID), Admit()),
    ("replace, nothing active", situation(REPLACE), Admit()),
    ("queue_one, nothing active", situation(QUEUE_ONE), Admit()),
    # -- forbid
    ("forbid, a run started", situation(FORBID, RUNNING), overlap("a--r1 is still started")),
    ("forbid, a run queued", situation(FORBID, QUEUED), overlap("a--q1 is still enqueued")),
    (
        "forbid names the run in RQ before a waiting one",
        situation(FORBID, WAITING, QUEUED),
        overlap("a--q1 is still enqueued"),
    ),
    ("forbid, only a waiting run", situation(FORBID, WAITING), overlap("a--w1 is still enqueued")),
    # -- replace
    ("replace, a run started", situation(REPLACE, RUNNING), Replace(earlier=(RUNNING,))),
    (
        "replace ends the runs in RQ first, then the waiting one",
        situation(REPLACE, WAITING, RUNNING, QUEUED),
        Replace(earlier=(RUNNING, QUEUED, WAITING)),
    ),
    ("replace, only a waiting run", situation(REPLACE, WAITING), Replace(earlier=(WAITING,))),
    # -- queue_one
    ("queue_one, a run started", situation(QUEUE_ONE, RUNNING), Hold(behind="a--r1")),
    ("queue_one, a run queued", situation(QUEUE_ONE, QUEUED), Hold(behind="a--q1")),
    (
        "queue_one, one already waiting",
        situation(QUEUE_ONE, RUNNING, WAITING),
        overlap("a--w1 is already waiting"),
    ),
    (
        "queue_one, only a waiting run",
        situation(QUEUE_ONE, WAITING),
        overlap("a--w1 is already waiting"),
    ),
    # -- a run sent again is not its own rival
    ("forbid, the run itself active", situation(FORBID, ITSELF), Admit()),
    ("replace, the run itself active", situation(REPLACE, ITSELF), Admit()),
    ("queue_one, the run itself active", situation(QUEUE_ONE, ITSELF), Admit()),
    (
        "forbid, the run itself and another",
        situation(FORBID, ITSELF, RUNNING),
        overlap("a--r1 is still started"),
    ),
    (
        "replace, the run itself and another",
        situation(REPLACE, ITSELF, RUNNING),
        Replace(earlier=(RUNNING,)),
    ),
    # -- run_all's catch-ups of one batch run side by side
    (
        "forbid, a later catch-up of the batch",
        situation(FORBID, RUNNING, trigger=CATCH_UP, catching_up=True),
        Admit(),
    ),
    (
        "replace, a later catch-up of the batch",
        situation(REPLACE, RUNNING, trigger=CATCH_UP, catching_up=True),
        Admit(),
    ),
    (
        "queue_one, a later catch-up of the batch",
        situation(QUEUE_ONE, RUNNING, WAITING, trigger=CATCH_UP, catching_up=True),
        Admit(),
    ),
    (
        "forbid, the batch's first catch-up",
        situation(FORBID, RUNNING, trigger=CATCH_UP),
        overlap("a--r1 is still started"),
    ),
    (
        "forbid, a scheduled run after a catch-up of the batch",
        situation(FORBID, RUNNING, catching_up=True),
        overlap("a--r1 is still started"),
    ),
    # -- a pause comes before any policy
    (
        "paused until resumed, allow",
        situation(ALLOW, pause=FOREVER),
        Skip(reason=Reason.paused, note="paused by ops: INC-1"),
    ),
    (
        "paused until later, job not loaded",
        situation(None, pause=UNTIL_LATER),
        Skip(reason=Reason.paused, note="paused by bob: deploy"),
    ),
    (
        "paused, queue_one would hold",
        situation(QUEUE_ONE, RUNNING, pause=FOREVER),
        Skip(reason=Reason.paused, note="paused by ops: INC-1"),
    ),
    (
        "paused, replace would replace",
        situation(REPLACE, RUNNING, pause=FOREVER),
        Skip(reason=Reason.paused, note="paused by ops: INC-1"),
    ),
    (
        "paused, a later catch-up of the batch",
        situation(FORBID, trigger=CATCH_UP, catching_up=True, pause=FOREVER),
        Skip(reason=Reason.paused, note="paused by ops: INC-1"),
    ),
    ("a pause ending now, nothing active", situation(FORBID, pause=UNTIL_NOW), Admit()),
    (
        "a pause ending now, forbid applies",
        situation(FORBID, RUNNING, pause=UNTIL_NOW),
        overlap("a--r1 is still started"),
    ),
]


@pytest.mark.parametrize(("case", "given", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_decide(case: str, given: dict[str, Any], expected: Decision):
    """Each row: the decision admission takes in that situation, at T0."""
    assert decide(**given, now=T0) == expected, case


def test_every_policy_has_rows():
    """The table covers every overlap policy, the unloaded job and the pause."""
    policies = {row[1]["policy"] for row in ROWS}
    assert policies == {*OverlapPolicy, None}
    assert {type(row[2]) for row in ROWS} == {Admit, Skip, Hold, Replace}
    assert any(row[1]["pause"] is not None for row in ROWS)


def test_active_of_a_request():
    """A request becomes an active run in RQ (enqueued), or a waiting one when held."""
    request = RunRequest(
        run_id=ME,
        job="a",
        task="a.b:c",
        params={},
        scheduled_for=T0.isoformat(),
        trigger=RunTrigger.schedule,
    )
    assert Active.of(request) == Active(
        job="a", run_id=ME, scheduled_for=T0, trigger=RunTrigger.schedule
    )
    held = Active.of(request, waiting=True)
    assert (held.status, held.waiting) == (RunStatus.enqueued, True)
