"""The HTML pages in-process: the token flow with CSRF, read-only mode, escaping, and the
states that say what is wrong (no jobs, no records, Redis down, SQLite locked)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import redis

from scheduler.engine import pauses
from tests.integration.web_helpers import TOKEN, client, record_runs, write_job

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    jobs, data = tmp_path / "jobs.d", tmp_path / "data"
    data.mkdir()
    write_job(jobs, "alpha", description=SCRIPT)
    return jobs, data


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def test_login_then_confirm_then_post_pauses_with_the_login_as_by(
    dirs: tuple[Path, Path], redis_url: str, redis_conn: redis.Redis
) -> None:
    jobs, data = dirs
    web = client(jobs, data, token=TOKEN, redis_url=redis_url)
    assert web.post("/login", data={"token": "wrong"}).status_code == 401
    assert web.post("/login", data={"login": "ann", "token": TOKEN}).status_code == 200
    page = web.get("/jobs/alpha").text
    assert 'data-action="pause"' in page
    confirm = web.get("/jobs/alpha/pause", params={"reason": "disk full"})
    assert 'value="disk full"' in confirm.text
    csrf = _csrf(confirm.text)
    # A forged CSRF token changes nothing.
    forged = web.post("/jobs/alpha/pause", data={"csrf": "0" * 64, "reason": "x"})
    assert forged.status_code == 403
    assert pauses.read(redis_conn) == {}
    bad = web.post("/jobs/alpha/pause", data={"csrf": csrf, "reason": "x", "until": "soon"})
    assert bad.status_code == 422
    assert "until" in bad.text
    done = web.post("/jobs/alpha/pause", data={"csrf": csrf, "reason": f"disk {SCRIPT}"})
    assert done.status_code == 200  # redirected to the job page
    stored = pauses.read(redis_conn)["alpha"]
    assert stored.by == "web:ann"
    jobs_page = web.get("/").text
    assert SCRIPT not in jobs_page
    assert "disk &lt;script&gt;" in jobs_page
    assert 'data-action="resume"' in jobs_page
    web.post("/jobs/alpha/resume", data={"csrf": csrf})
    assert pauses.read(redis_conn) == {}


def test_no_login_is_401_and_read_only_is_403_and_nothing_changes(
    dirs: tuple[Path, Path], redis_url: str, redis_conn: redis.Redis
) -> None:
    jobs, data = dirs
    web = client(jobs, data, token=TOKEN, redis_url=redis_url)
    assert web.post("/jobs/alpha/trigger", data={"csrf": "x"}).status_code == 401
    assert web.get("/jobs/alpha/trigger").status_code == 401
    read_only = client(jobs, data, redis_url=redis_url)
    page = read_only.get("/").text
    assert 'id="readonly"' in page
    assert "data-action" not in page
    assert read_only.post("/jobs/alpha/pause", data={"reason": "x"}).status_code == 403
    assert read_only.post("/login", data={"token": TOKEN}).status_code == 403
    assert pauses.read(redis_conn) == {}
    assert redis_conn.keys("rq:job:*") == []


def test_descriptions_and_errors_are_escaped(dirs: tuple[Path, Path]) -> None:
    jobs, data = dirs
    record_runs(data, "alpha", 2, error=f"boom {SCRIPT}")
    web = client(jobs, data)
    for path in ("/", "/jobs/alpha", "/timeline"):
        html = web.get(path).text
        assert SCRIPT not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in web.get("/jobs/alpha").text


def test_unknown_job_is_a_404_page(dirs: tuple[Path, Path]) -> None:
    jobs, data = dirs
    response = client(jobs, data).get("/jobs/nope")
    assert response.status_code == 404
    assert "no job named" in response.text


def test_empty_states(tmp_path: Path) -> None:
    jobs, data = tmp_path / "jobs.d", tmp_path / "data"
    jobs.mkdir()
    html = client(jobs, data).get("/").text
    assert 'id="no-jobs"' in html
    assert "No records yet" in html


def test_redis_down_is_said_and_an_action_is_a_503(dirs: tuple[Path, Path]) -> None:
    jobs, data = dirs
    web = client(jobs, data, token=TOKEN, redis_url="redis://127.0.0.1:1/0")
    assert "Redis is not reachable" in web.get("/").text
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = web.post("/api/v1/jobs/alpha/trigger", headers=headers)
    assert answer.status_code == 503
    assert "Redis" in answer.json()["error"]
    assert web.get("/readyz").status_code == 503


def test_locked_records_are_said_and_the_server_keeps_serving(dirs: tuple[Path, Path]) -> None:
    jobs, data = dirs
    record_runs(data, "alpha", 1)
    holder = sqlite3.connect(data / "scheduler.db", isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE meta SET value = value")
        web = client(jobs, data)
        html = web.get("/").text
        assert "Records unreadable" in html
        assert "locked" in html
        assert web.get("/api/v1/jobs/alpha/history").status_code == 503
        assert web.get("/metrics").status_code == 200
    finally:
        holder.close()
    assert "Records unreadable" not in web.get("/").text


def test_an_old_name_redirects_to_the_job_page(tmp_path: Path) -> None:
    jobs, data = tmp_path / "jobs.d", tmp_path / "data"
    write_job(jobs, "alpha")
    path = jobs / "alpha.yaml"
    path.write_text(path.read_text() + "previous_names: [old-alpha]\n")
    response = client(jobs, data).get("/jobs/old-alpha", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/jobs/alpha"
