"""GET /healthz answers from the watcher's SQLite heartbeat (a real HTTP server and file)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.core.clock import FixedClock
from scheduler.engine.api import store_path
from scheduler.engine.healthz import serve
from scheduler.store import Store

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _get(port: int, path: str = "/healthz") -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        return exc.code, json.loads(body) if body.startswith(b"{") else {}


def test_fresh_heartbeat_is_200_and_stale_or_stopped_is_503(tmp_path: Path) -> None:
    """200 while the heartbeat is fresh; 503 once it is old or says stopped."""
    clock = FixedClock(NOW)
    with Store(store_path(tmp_path)) as store:
        store.set_meta("heartbeat", "running w1", NOW - timedelta(seconds=2))
        server = serve(tmp_path, 0, clock, host="127.0.0.1")
        port = server.server_address[1]
        try:
            status, body = _get(port)
            assert (status, body["healthy"], body["watcher"]) == (200, True, "w1")
            clock.set(NOW + timedelta(minutes=5))
            assert _get(port)[0] == 503
            store.set_meta("heartbeat", "stopped w1", NOW + timedelta(minutes=5))
            assert _get(port)[0] == 503
            assert _get(port, "/elsewhere")[0] == 404
        finally:
            server.shutdown()


def test_no_records_yet_is_503(tmp_path: Path) -> None:
    """Before the watcher ever ran there is no heartbeat: unhealthy."""
    server = serve(tmp_path, 0, FixedClock(NOW), host="127.0.0.1")
    try:
        status, body = _get(server.server_address[1])
        assert (status, body["state"]) == (503, "never started")
    finally:
        server.shutdown()
