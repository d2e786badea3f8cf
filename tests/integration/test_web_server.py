"""The real `scheduler web` process on a free port: it serves, and it says what is wrong."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import wait_for
from tests.integration.web_helpers import write_job


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    jobs, data = tmp_path / "jobs.d", tmp_path / "data"
    write_job(jobs, "alpha", description="<script>alert(1)</script>")
    (jobs / "broken.yaml").write_text("name: broken\nschedule: {cron: '61 * * * *'}\n")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SCHEDULER_WEB_TOKEN", "REDIS_URL")}
    argv = [
        sys.executable,
        "-m",
        "scheduler",
        "web",
        "--port",
        str(port),
        "--jobs-dir",
        str(jobs),
        "--data-dir",
        str(data),
        "--root-path",
        "/ops",
    ]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: _get(f"{base}/healthz")[0] == 200 or proc.poll() is not None,
            timeout=30,
            message="the web server to answer /healthz",
        )
        assert proc.poll() is None
        yield base
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        assert b"Traceback" not in out, out.decode()


def test_the_page_lists_jobs_escapes_and_shows_what_is_missing(server: str) -> None:
    status, html = _get(f"{server}/")
    assert status == 200
    assert '<tr data-job="alpha"' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'id="readonly"' in html
    assert "data-action=" not in html
    assert '<li class="rejected"><code>' in html
    assert "broken.yaml:" in html
    assert "No records yet" in html
    assert 'href="/ops/static/app.css"' in html  # --root-path prefixes every link


def test_the_api_and_metrics_answer(server: str) -> None:
    status, body = _get(f"{server}/api/v1/jobs")
    assert status == 200
    assert '"name":"alpha"' in body
    status, text = _get(f"{server}/metrics")
    assert status == 200
    assert 'scheduler_job_enabled{job_name="alpha"} 1.0' in text
    assert "scheduler_rejected_files 1.0" in text


def _web(jobs: Path, data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("SCHEDULER_WEB_TOKEN", "REDIS_URL")}
    argv = [sys.executable, "-m", "scheduler", "web", "--port", str(port)]
    argv += ["--jobs-dir", str(jobs), "--data-dir", str(data)]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Another process holds the port: one error line naming it, exit 1 (uvicorn: exit 3),
    and no URL printed as if it served."""
    jobs = tmp_path / "jobs.d"
    write_job(jobs, "alpha")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = _web(jobs, tmp_path / "data", port)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err.decode()
    assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
    assert b"Traceback" not in err
    assert b"http://" not in out


def test_port_0_prints_the_port_served_and_sigterm_exits_0(tmp_path: Path) -> None:
    """--port 0: the URL printed has the port the system chose, and it serves; SIGTERM
    stops it with exit 0, as the watcher does."""
    jobs = tmp_path / "jobs.d"
    write_job(jobs, "alpha")
    proc = _web(jobs, tmp_path / "data", 0)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        url = line.split()[1]
        assert not url.endswith(":0/"), line
        wait_for(lambda: _get(f"{url}healthz")[0] == 200, timeout=30, message="/healthz")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
