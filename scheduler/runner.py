"""``scheduler.runner.run``: the function path stored in every enqueued RQ job.

A stable path, so that runs queued by an earlier version still execute after an upgrade
(RQ imports this module by name). The runner itself lives in :mod:`scheduler.worker.runner`.
"""

from scheduler.worker.runner import RunFailedError, import_task, run

__all__ = ["RunFailedError", "import_task", "run"]
