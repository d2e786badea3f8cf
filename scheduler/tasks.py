"""What task authors import: ``from scheduler.tasks import task, RunContext``.

A stable path: the task API itself lives in :mod:`scheduler.worker.tasks`.
"""

from scheduler.worker.tasks import RunContext, call_task, check_params, params_model, task

__all__ = ["RunContext", "call_task", "check_params", "params_model", "task"]
