"""/metrics of the live server: Prometheus' own linter accepts it (``promtool check
metrics``, from Debian's prometheus package), every name has the scheduler_ prefix, and
no series carries a label named ``job`` (Prometheus keeps it for the scrape target)."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest

from tests.browser.stack import Stack

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? ")
LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')


def scrape(stack: Stack) -> str:
    response = httpx.get(f"{stack.web.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_promtool_accepts_the_metrics(stack: Stack) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("no promtool: apt-get install prometheus (.ci/run does)")
    text = scrape(stack)
    done = subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"promtool:\n{done.stdout}{done.stderr}"
    assert not done.stdout.strip(), done.stdout
    assert not done.stderr.strip(), done.stderr


def test_metric_names_and_labels(stack: Stack) -> None:
    stack.final_runs("audit")  # at least one finished run, so run series exist
    samples = [m for line in scrape(stack).splitlines() if (m := SAMPLE.match(line))]
    assert samples, "no samples on /metrics"
    names = {m["name"] for m in samples}
    assert all(n.startswith("scheduler_") for n in names), sorted(names)
    keys = {k["key"] for m in samples if m["labels"] for k in LABEL.finditer(m["labels"])}
    assert "job" not in keys, sorted(keys)
    assert "job_name" in keys, sorted(keys)
    named = {m["labels"] for m in samples if m["labels"] and 'job_name="report"' in m["labels"]}
    assert named, "no series for the job report"
