"""Fault: the leading watcher dies (kill -9) or stops (SIGTERM) while others stand by.

Several ``scheduler run`` processes share one Redis and one jobs dir, each with its own data
dir and worker, named like separate machines (``--watcher-id``), with a 2 s lease. Invariant:
exactly one leads at a time; after each loss a standby leads within the lease (plus its
poll); across every handover each instant of a 1 s job runs exactly once: none twice, none
left without a record.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.engine.embedded import EmbeddedRedis
from tests.faults.harness import (
    FaultWatcher,
    assert_each_instant_once,
    fleet,
    job_file,
    stop_job,
    wait_done,
    wait_more_done,
)
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import write

SECOND = timedelta(seconds=1)
LEASE = 2.0
#: A standby polls the lease every half second at most, so it leads by then.
TAKEOVER_WITHIN = LEASE + 1.5
#: The instants a handover spanned go out together, late; under the default ``forbid`` all
#: but the first would be skipped as overlapping. The point here is exactly-once, so allow.
ALLOW = "overlap: allow\n"


def the_leader(group: list[FaultWatcher]) -> FaultWatcher:
    leaders = wait_for(
        lambda: [w for w in group if w.running and w.leading()],
        timeout=10,
        message="a leader",
    )
    assert len(leaders) == 1, f"two leaders: {[w.name for w in leaders]}"
    return leaders[0]


@pytest.mark.parametrize("watchers", [2, 3])
def test_leader_killed_a_standby_takes_over_without_duplicates_or_gaps(
    tmp_path: Path, redis_server: EmbeddedRedis, watchers: int
) -> None:
    """kill -9 the leader (with 3 watchers: twice); each instant still runs exactly once."""
    assert redis_server.url is not None
    out = tmp_path / "out.txt"
    with fleet(tmp_path, redis_server.url) as group:
        procs = [
            group.start(f"w{i}", data=f"data{i}", lease="2s", watcher_id=f"w{i}")
            for i in range(1, watchers + 1)
        ]
        path = write(
            tmp_path / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s", extra=ALLOW)
        )
        wait_done(out, 3)
        for _ in range(watchers - 1):
            leader = the_leader(procs)
            leader.kill9()
            killed = time.monotonic()
            alive = [w for w in procs if w.running]
            heir = the_leader(alive)
            took = time.monotonic() - killed
            assert took <= TAKEOVER_WITHIN, f"takeover took {took:.1f} s"
            wait_more_done(out, 3, timeout=10)
            [acquired] = heir.find("leader.acquired")
            assert acquired["watcher"] == heir.watcher_id
        last_leader = the_leader([w for w in procs if w.running])
        rows, through = stop_job(path, procs, "tick")
        verdict = assert_each_instant_once(rows, out, every=SECOND, through=through)
        # A handover is shorter than the grace: the instants it spanned went out late, none
        # was given up as missed.
        assert verdict.missed == 0, verdict
        assert verdict.executed == verdict.instants
        assert last_leader.find("leader.resumed")


def test_leader_stopped_gracefully_hands_over_at_once(
    tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    """SIGTERM the leader: it releases the lease and the standby leads at once (< 3 s)."""
    assert redis_server.url is not None
    out = tmp_path / "out.txt"
    with fleet(tmp_path, redis_server.url) as group:
        first = group.start("a", data="data-a", lease="10s", watcher_id="a")
        second = group.start("b", data="data-b", lease="10s", watcher_id="b")
        path = write(
            tmp_path / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s", extra=ALLOW)
        )
        wait_done(out, 2)
        leader = the_leader([first, second])
        standby = second if leader is first else first
        stopped = time.monotonic()
        leader.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        wait_for(standby.leading, timeout=5, message="the standby leading")
        assert time.monotonic() - stopped < 3.0, "waited for the lease to run out"
        assert leader.proc.wait(10) == 0  # type: ignore[union-attr]
        assert leader.find("leader.released", released=True)
        wait_more_done(out, 2, timeout=10)

        rows, through = stop_job(path, [first, second], "tick")
        verdict = assert_each_instant_once(rows, out, every=SECOND, through=through)
        assert verdict.missed == 0, verdict
