"""One peer scheduler, run by bench/compare.py with bench/.peers-venv/bin/python.

    run_peer.py SYSTEM --url URL --spec JOBS.json [--interval S] [--no-register]

SYSTEM is ``rq-cron`` (``rq.cron.CronScheduler``, as ``rq cron`` runs it), ``rq-scheduler``
(``rq_scheduler.Scheduler`` with ``cron()`` jobs, as ``rqscheduler`` runs it) or
``apscheduler`` (3.x ``BlockingScheduler``, every job a ``CronTrigger`` whose function is
RQ's ``Queue.enqueue``). JOBS.json holds ``{"jobs": [[name, second, minute, hour], ...]}``:
6-field cron jobs, day, month and weekday ``*``, in UTC. Each system gets them in its own
notation. The job's name is the one argument of the enqueued ``benchtask.noop``, so the
benchmark can tell runs apart from RQ's description.

Prints one JSON line ``{"event": "ready", "t": <unix time>, "jobs": N}`` when the jobs are
registered and the scheduling loop is about to start; everything else the peer logs goes to
the same output, as it would in production.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchtask

Job = tuple[str, str, str, str]


def ready(count: int) -> None:
    print(json.dumps({"event": "ready", "t": time.time(), "jobs": count}), flush=True)


def run_rq_cron(conn: Any, jobs: list[Job]) -> None:
    from rq.cron import CronScheduler

    # INFO is the level `rq cron` runs at by default.
    scheduler = CronScheduler(connection=conn, logging_level=logging.INFO)
    for name, second, minute, hour in jobs:
        scheduler.register(
            benchtask.noop,
            "default",
            args=(name,),
            cron=f"{minute} {hour} * * * {second}",  # croniter: seconds last
            name=name,
        )
    ready(len(jobs))
    scheduler.start()


def run_rq_scheduler(conn: Any, jobs: list[Job], interval: float, register: bool) -> None:
    from rq_scheduler import Scheduler
    from rq_scheduler.utils import setup_loghandlers

    setup_loghandlers("INFO")  # what `rqscheduler` sets up without -v / --quiet
    scheduler = Scheduler(queue_name="default", connection=conn, interval=interval)
    if register:
        for name, second, minute, hour in jobs:
            # The `crontab` package rq-scheduler uses takes seconds first in its 7-field form.
            scheduler.cron(
                f"{second} {minute} {hour} * * * *",
                func=benchtask.noop,
                args=[name],
                queue_name="default",
            )
    ready(len(jobs))
    scheduler.run()


def run_apscheduler(conn: Any, jobs: list[Job]) -> None:
    from apscheduler.events import EVENT_SCHEDULER_STARTED
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from rq import Queue

    queue = Queue("default", connection=conn)
    scheduler = BlockingScheduler(timezone=UTC)
    for name, second, minute, hour in jobs:
        trigger = CronTrigger(second=second, minute=minute, hour=hour, timezone=UTC)
        scheduler.add_job(queue.enqueue, trigger, args=["benchtask.noop", name], id=name)
    # Jobs added before start() reach the job store inside start(), before this event.
    scheduler.add_listener(lambda _event: ready(len(jobs)), EVENT_SCHEDULER_STARTED)
    scheduler.start()


def main() -> int:
    import redis

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("system", choices=["rq-cron", "rq-scheduler", "apscheduler"])
    ap.add_argument("--url", required=True)
    ap.add_argument("--spec", type=Path, required=True)
    ap.add_argument("--interval", type=float, default=1.0, help="rq-scheduler's polling period")
    ap.add_argument("--no-register", dest="register", action="store_false")
    args = ap.parse_args()
    jobs = [tuple(x) for x in json.loads(args.spec.read_text())["jobs"]]
    conn = redis.Redis.from_url(args.url)
    if args.system == "rq-cron":
        run_rq_cron(conn, jobs)  # type: ignore[arg-type]
    elif args.system == "rq-scheduler":
        run_rq_scheduler(conn, jobs, args.interval, args.register)  # type: ignore[arg-type]
    else:
        run_apscheduler(conn, jobs)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
