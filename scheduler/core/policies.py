"""The policies a job file can choose, as enums (pure: no I/O, no clock).

String values make the YAML, the JSON output and the SQLite rows read the same.
"""

from __future__ import annotations

from enum import StrEnum


class MisfirePolicy(StrEnum):
    """What to do with runs that were due while nothing could dispatch them."""

    skip = "skip"  # record every one missed; wait for the next instant
    run_once = "run_once"  # run the latest once, as a catch-up; record the earlier ones missed
    run_all = "run_all"  # run each one (at most max_catchup, the latest); record the rest missed


#: A job without ``misfire:`` (most): its policy and its limit of catch-up runs, no grace.
DEFAULT_MISFIRE_POLICY = MisfirePolicy.run_once
DEFAULT_MAX_CATCHUP = 100


class OverlapPolicy(StrEnum):
    """What to do when a run is due while an earlier run of the same job is queued or running."""

    allow = "allow"  # enqueue it anyway: runs may execute side by side
    forbid = "forbid"  # do not run it: record it skipped (reason overlap)
    # (named replace_ only because str.replace exists; the value is "replace")
    replace_ = "replace"  # cancel the earlier run (stop it if it is running), then enqueue
    queue_one = "queue_one"  # hold it until the earlier run ends; at most one waits, more skip


class DstGap(StrEnum):
    """A fixed-time run whose local time is skipped by a spring-forward night."""

    run_after = "run_after"  # run once, right after the gap (Debian cron; the default)
    skip = "skip"  # do not run that night


class DstRepeat(StrEnum):
    """A fixed-time run whose local time happens twice on a fall-back night."""

    first = "first"  # run once, at the first pass (Debian cron; the default)
    both = "both"  # run at both passes


#: A job without ``dst:`` (most): Debian cron's rule.
DEFAULT_DST_GAP = DstGap.run_after
DEFAULT_DST_REPEAT = DstRepeat.first


class Reason(StrEnum):
    """Why a run row is in its state: the ledger's second column next to the status."""

    downtime = "downtime"  # missed: due while the watcher was down or Redis unreachable
    grace = "grace"  # missed: found later than the job's misfire grace
    behind = "behind"  # missed: the watcher's loop fell behind (policy skip or over max_catchup)
    max_catchup = "max_catchup"  # missed: beyond run_all's max_catchup
    overlap = "overlap"  # skipped: an earlier run was still queued or running
    paused = "paused"  # skipped: the job was paused at runtime (`scheduler pause`)
    deduplicated = "deduplicated"  # enqueued: another watcher or an earlier attempt had it
    waiting = "waiting"  # enqueued: held by queue_one until the earlier run ends
    replaced = "replaced"  # failed/skipped: canceled or stopped by a newer run (replace)
    timeout = "timeout"  # failed: killed by its timeout
    retried = "retried"  # enqueued: an attempt failed, another is coming
    lost = "lost"  # failed: closed by reconciliation (killed worker, vanished RQ job)
