"""``python -m scheduler.web``: the operator's view, as ``scheduler web`` starts it.

``scheduler web`` (rank 4, like this package) cannot import it, so it execs this module
with the same options. The token comes from ``SCHEDULER_WEB_TOKEN`` (never an option, so
it does not show in ``ps``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
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
    sock = listen(args.host, args.port)
    port = sock.getsockname()[1]
    print(f"web: http://{args.host}:{port}{root}/ ({mode})", flush=True)
    config = uvicorn.Config(app, root_path=root, log_level=args.log_level, access_log=False)
    # uvicorn re-raises the signal that stopped it once it has shut down: with this handler
    # in place then, SIGTERM ends the process with 0 (as the watcher does), not 143.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, listening; exit 1 with one line when it cannot be
    (the port in use, an unknown host), where uvicorn would log an error and exit 3.

    Bound here, before the URL is printed, so the URL printed is the one served (port 0:
    the port the system chose).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"error: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
        sys.exit(1)
    sock.set_inheritable(True)
    return sock


if __name__ == "__main__":
    main()
