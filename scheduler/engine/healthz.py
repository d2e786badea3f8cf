"""An HTTP ``/healthz`` for orchestrators that probe over HTTP (Kubernetes, load balancers).

It answers from the same SQLite heartbeat as ``scheduler health``: 200 with the health
JSON while the watcher's heartbeat is fresh, 503 otherwise.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from scheduler.core.clock import Clock


# 0.0.0.0 by default: a probe endpoint must be reachable from outside the container.
def serve(data_dir: Path, port: int, clock: Clock, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Start answering on ``host:port`` in a daemon thread; ``shutdown()`` the result to stop."""
    from scheduler.engine import api

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/healthz", "/health"):
                self.send_error(404)
                return
            data = api.health(data_dir, clock.now())
            body = json.dumps(data).encode()
            self.send_response(200 if data["healthy"] else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # probes every few seconds would drown the JSON log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="healthz", daemon=True).start()
    return server
