"""``python -m scheduler.web``: the operator's view, as ``scheduler web`` starts it.

``scheduler web`` (rank 4, like this package) cannot import it, so it execs this module
with the same options. The token comes from ``SCHEDULER_WEB_TOKEN`` (never an option, so
it does not show in ``ps``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path


def parse(argv: list[str]) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="scheduler web", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--jobs-dir", type=Path, default=Path(env.get("SCHEDULER_JOBS_DIR", "jobs.d"))
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(env.get("SCHEDULER_DATA_DIR", "data"))
    )
    parser.add_argument("--redis-url", default=env.get("REDIS_URL") or None)
    parser.add_argument("--root-path", default="", help="The sub-path a proxy serves it under.")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from scheduler.engine.richless import without_rich

    # Before what the view imports: structlog's default console lines, with a plain
    # traceback as in production (rich absent), instead of 0.08 s of rich at every start.
    with without_rich():
        import structlog  # noqa: F401
    import uvicorn

    from scheduler.core.clock import SystemClock
    from scheduler.engine.overview import Overview
    from scheduler.web.app import create_app

    if not args.jobs_dir.is_dir():
        print(f"error: jobs directory {str(args.jobs_dir)!r} does not exist", file=sys.stderr)
        sys.exit(2)
    overview = Overview(args.jobs_dir, args.data_dir, args.redis_url, SystemClock())
    token = os.environ.get("SCHEDULER_WEB_TOKEN") or None
    app = create_app(overview, token)
    root = args.root_path.rstrip("/")
    mode = "read-only" if token is None else "actions need the token"
    print(f"web: http://{args.host}:{args.port}{root}/ ({mode})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            root_path=root,
            log_level=args.log_level,
            access_log=False,
        )


if __name__ == "__main__":
    main()
