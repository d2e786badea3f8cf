"""The function every peer scheduler enqueues: never executed (no worker runs in the benchmark)."""


def noop(name: str) -> None:
    """Stands for a job's task; ``name`` is the benchmark job, read back from the RQ job."""
