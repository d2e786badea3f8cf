"""The RQ worker ``scheduler worker`` runs: RQ's own, with a heartbeat the watcher can trust.

RQ refreshes a busy worker's heartbeat every ``job_monitoring_interval`` (30 s by default)
and lets its key live 60 s longer, so a worker killed mid-task (SIGKILL, a lost machine)
looks alive for a minute and a half, and RQ itself declares its job abandoned later still.
Our workers beat every ``HEARTBEAT_S`` seconds and say so in their worker hash
(``HEARTBEAT_FIELD``), so the watcher's reconciliation can call one dead after a few
missed beats instead (``scheduler.engine.reconcile``). Plain ``rq worker`` processes still work;
they are judged by RQ's own key expiry.
"""

from __future__ import annotations

import signal
from typing import Any

from rq import Worker
from rq.job import Job
from rq.queue import Queue

from scheduler.worker.lifeline import bind_to

#: Seconds between a busy worker's heartbeats.
HEARTBEAT_S = 5
#: Field of the RQ worker hash holding HEARTBEAT_S (absent for plain RQ workers).
HEARTBEAT_FIELD = "scheduler_heartbeat_s"


class SchedulerWorker(Worker):
    """An RQ ``Worker`` whose busy heartbeat is every ``HEARTBEAT_S`` s, advertised in Redis.

    It also retries a lost Redis every ``HEARTBEAT_S`` s at most: RQ's backoff doubles up to
    60 s, so after a 10 s outage its workers could sit idle for half a minute more while
    the watcher was already dispatching again. Its work horse dies with it.
    """

    max_connection_wait_time = float(HEARTBEAT_S)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_S)
        super().__init__(*args, **kwargs)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # A horse must not outlive its worker (SIGKILL when it dies; Linux): reconciliation
        # fails or retries the run of a dead worker, and a horse still running would then
        # finish it too, a second execution.
        if self.pid is not None:
            bind_to(self.pid, signal.SIGKILL)
        super().main_work_horse(job, queue)

    def register_birth(self) -> None:
        super().register_birth()  # type: ignore[no-untyped-call]  # RQ leaves it unannotated
        self.connection.hset(self.key, HEARTBEAT_FIELD, str(self.job_monitoring_interval))
