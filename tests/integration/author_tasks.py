"""A task written the way a task author writes one: against ``scheduler.tasks`` only."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from scheduler.tasks import RunContext, task


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    text: str


@task(params=Note)
def note(params: Note, run: RunContext) -> str:
    """Append ``text``, the job and the local date of the run to ``path``."""
    line = f"{params.text} {run.job} {run.local_date.isoformat()}"
    with Path(params.path).open("a") as out:
        out.write(line + "\n")
    return line
