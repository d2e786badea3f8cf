"""The JSON API and /metrics over a real SQLite file (and real Redis for the actions)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from scheduler.engine import pauses
from tests.integration.web_helpers import TOKEN, client, record_runs, write_job


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    jobs, data = tmp_path / "jobs.d", tmp_path / "data"
    data.mkdir()
    write_job(jobs, "alpha")
    write_job(jobs, "beta")
    return jobs, data


def test_jobs_lists_every_job_with_its_columns(dirs: tuple[Path, Path]) -> None:
    """GET /api/v1/jobs: {"jobs": [...]}, each with name, next run, state, mode, source."""
    jobs, data = dirs
    record_runs(data, "alpha", 3)
    body = client(jobs, data).get("/api/v1/jobs").json()
    assert [j["name"] for j in body["jobs"]] == ["alpha", "beta"]
    alpha = body["jobs"][0]
    assert alpha["state"] == "enabled"
    assert alpha["mode"] == "dry-run"
    assert alpha["timezone"] == "Europe/Paris"
    assert alpha["next_run"].endswith(("+01:00", "+02:00"))
    assert alpha["last_run"]["status"] == "succeeded"
    assert alpha["file"].endswith("alpha.yaml")
    assert alpha["line"] == 1
    assert body["jobs"][1]["last_run"] is None


def test_unknown_job_is_a_404_json_error(dirs: tuple[Path, Path]) -> None:
    jobs, data = dirs
    web = client(jobs, data)
    for path in ("/api/v1/jobs/nope", "/api/v1/jobs/nope/history"):
        response = web.get(path)
        assert response.status_code == 404
        assert "nope" in response.json()["error"]


def test_broken_symlinks_in_the_jobs_dir_do_not_break_the_pages(
    dirs: tuple[Path, Path],
) -> None:
    """A dangling symlink or a symlink loop named *.yaml: the pages and API still answer."""
    jobs, data = dirs
    (jobs / "dangling.yaml").symlink_to(jobs / "nowhere.yaml")
    (jobs / "loop-a.yaml").symlink_to("loop-b.yaml")
    (jobs / "loop-b.yaml").symlink_to("loop-a.yaml")
    web = client(jobs, data)
    for path in ("/", "/api/v1/jobs", "/api/v1/jobs/alpha", "/metrics", "/healthz"):
        assert web.get(path).status_code == 200, path
    assert [j["name"] for j in web.get("/api/v1/jobs").json()["jobs"]] == ["alpha", "beta"]


def test_history_rows_are_the_cli_rows_with_a_cursor(dirs: tuple[Path, Path]) -> None:
    """Rows as `history --format json`, newest first, by pages of `limit` with next_cursor."""
    from scheduler.engine import api

    jobs, data = dirs
    record_runs(data, "alpha", 5)
    web = client(jobs, data)
    first = web.get("/api/v1/jobs/alpha/history", params={"limit": 2}).json()
    assert first["runs"] == api.history(data, job="alpha", status=None, limit=2)
    seen = [r["run_id"] for r in first["runs"]]
    cursor = first["next_cursor"]
    while cursor:
        page = web.get("/api/v1/jobs/alpha/history", params={"limit": 2, "cursor": cursor})
        seen += [r["run_id"] for r in page.json()["runs"]]
        cursor = page.json()["next_cursor"]
    every = api.history(data, job="alpha", status=None, limit=100)
    assert seen == [r["run_id"] for r in every]


def test_history_filters_and_bad_parameters(dirs: tuple[Path, Path]) -> None:
    jobs, data = dirs
    record_runs(data, "alpha", 4, error="boom")
    web = client(jobs, data)
    failed = web.get("/api/v1/jobs/alpha/history", params={"status": "failed"}).json()
    assert [r["status"] for r in failed["runs"]] == ["failed"]
    for param, value in (
        ("limit", "x"),
        ("limit", "0"),
        ("since", "yesterday"),
        ("status", "bogus"),
        ("cursor", "!!"),
    ):
        response = web.get("/api/v1/jobs/alpha/history", params={param: value})
        assert response.status_code == 422, (param, value)
        assert response.json()["param"] == param
    huge = web.get("/api/v1/jobs/alpha/history", params={"limit": 10**9})
    assert huge.status_code == 200


def test_no_records_yet_is_an_empty_history(dirs: tuple[Path, Path]) -> None:
    jobs, data = dirs
    body = client(jobs, data).get("/api/v1/jobs/alpha/history").json()
    assert body == {"runs": [], "next_cursor": None}


def test_actions_refused_without_token_or_on_read_only(dirs: tuple[Path, Path]) -> None:
    """401 without/with a wrong bearer token; 403 on a server that has no token."""
    jobs, data = dirs
    web = client(jobs, data, token=TOKEN)
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        assert web.post("/api/v1/jobs/alpha/trigger", headers=auth).status_code == 401
    read_only = client(jobs, data)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert read_only.post("/api/v1/jobs/alpha/trigger", headers=headers).status_code == 403


def test_trigger_pause_resume_with_the_token(
    dirs: tuple[Path, Path], redis_url: str, redis_conn: redis.Redis
) -> None:
    """202 and the run id; a pause recorded by web:api; a bad `until` is a 422."""
    jobs, data = dirs
    web = client(jobs, data, token=TOKEN, redis_url=redis_url)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    triggered = web.post("/api/v1/jobs/alpha/trigger", headers=headers)
    assert triggered.status_code == 202
    assert triggered.json()["run_id"].startswith("alpha")
    assert triggered.json()["enqueued"] is True
    bad = web.post("/api/v1/jobs/alpha/pause", headers=headers, json={"reason": "x", "until": "?"})
    assert bad.status_code == 422
    assert pauses.read(redis_conn) == {}
    paused = web.post(
        "/api/v1/jobs/alpha/pause", headers=headers, json={"reason": "incident 42", "until": "2h"}
    )
    assert paused.status_code == 200
    stored = pauses.read(redis_conn)["alpha"]
    assert (stored.by, stored.reason) == ("web:api", "incident 42")
    assert web.get("/api/v1/jobs/alpha").json()["state"] == "paused"
    resumed = web.post("/api/v1/jobs/alpha/resume", headers=headers)
    assert resumed.json() == {"job": "alpha", "resumed": True}
    assert pauses.read(redis_conn) == {}


def test_metrics_names_and_labels(dirs: tuple[Path, Path]) -> None:
    """scheduler_ prefix, job_name label and never job; counters and histograms present."""
    from prometheus_client.parser import text_string_to_metric_families

    jobs, data = dirs
    record_runs(data, "alpha", 3, error="boom")
    text = client(jobs, data).get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert all(name.startswith("scheduler_") for name in families)
    for family in families.values():
        for sample in family.samples:
            assert "job" not in sample.labels
    runs = {
        (s.labels["job_name"], s.labels["status"]): s.value
        for s in families["scheduler_runs"].samples
        if s.name == "scheduler_runs_total"
    }
    assert runs == {("alpha", "succeeded"): 2.0, ("alpha", "failed"): 1.0}
    assert families["scheduler_run_duration_seconds"].type == "histogram"
    assert families["scheduler_dispatch_lateness_seconds"].type == "histogram"
    assert {
        "scheduler_job_next_run_timestamp_seconds",
        "scheduler_job_last_success_timestamp_seconds",
        "scheduler_job_enabled",
        "scheduler_job_paused",
        "scheduler_rejected_files",
        "scheduler_watcher_heartbeat_age_seconds",
        "scheduler_watcher_leader",
        "scheduler_config_generation_info",
    } <= set(families)


def test_openapi_document_names_every_route(dirs: tuple[Path, Path]) -> None:
    jobs, data = dirs
    doc = client(jobs, data).get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": "/api/v1"}]
    assert set(doc["paths"]) == {
        "/health",
        "/jobs",
        "/jobs/{name}",
        "/jobs/{name}/history",
        "/jobs/{name}/trigger",
        "/jobs/{name}/pause",
        "/jobs/{name}/resume",
    }


def test_run_counters_do_not_go_down_when_runs_are_pruned(dirs: tuple[Path, Path]) -> None:
    """A prune deletes rows; scheduler_runs_total keeps what it counted before."""
    import sqlite3

    jobs, data = dirs
    record_runs(data, "alpha", 3)
    web = client(jobs, data)

    def succeeded() -> float:
        for line in web.get("/metrics").text.splitlines():
            if line.startswith('scheduler_runs_total{job_name="alpha",status="succeeded"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    assert succeeded() == 3.0
    with sqlite3.connect(data / "scheduler.db") as conn:  # what a retention prune does
        conn.execute("DELETE FROM runs WHERE id IN (SELECT MIN(id) FROM runs)")
    assert succeeded() == 3.0
