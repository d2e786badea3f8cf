"""``scheduler web``: the operator's view, in a process of its own (``python -m scheduler.web``).

cli and web are both rank 4 and may not import each other, so this command checks its
options and execs the web module with them. ``SCHEDULER_WEB_TOKEN`` enables actions.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from scheduler.cli.context import require_dir
from scheduler.cli.options import data_dir_option, jobs_dir_option, redis_url_option


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--root-path", default="", help="The sub-path a reverse proxy serves it under.")
@jobs_dir_option
@data_dir_option
@redis_url_option
def web(
    host: str, port: int, root_path: str, jobs_dir: Path, data_dir: Path, redis_url: str | None
) -> None:
    """Serve the jobs page, the JSON API (/api/v1) and /metrics (SCHEDULER_WEB_TOKEN: actions)."""
    require_dir(jobs_dir)
    argv = [
        sys.executable,
        "-m",
        "scheduler.web",
        "--host",
        host,
        "--port",
        str(port),
        "--jobs-dir",
        str(jobs_dir),
        "--data-dir",
        str(data_dir),
    ]
    if root_path:
        argv += ["--root-path", root_path]
    if redis_url:
        argv += ["--redis-url", redis_url]
    sys.stdout.flush()
    os.execv(sys.executable, argv)
