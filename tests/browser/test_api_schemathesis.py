"""The JSON API against its own OpenAPI document, fuzzed by schemathesis (its CLI, as a
subprocess) on the live read-only server: no request may get a 5xx, and every status,
content type and body must be one the document declares.

Read-only, so that the generated POSTs (trigger, pause, resume on any name) are refused
(403, documented) and change nothing the browser tests rely on. Bounded: a fixed seed,
at most 30 cases per operation and a 25 s budget.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.stack import Stack

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def test_api_conforms_to_its_openapi_document(stack: Stack, tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    if not cli.exists() and shutil.which("schemathesis") is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    argv = [str(cli) if cli.exists() else "schemathesis", "run"]
    argv += [f"{stack.readonly.url}/api/v1/openapi.json", "--url", f"{stack.readonly.url}/api/v1"]
    argv += ["--checks", CHECKS, "--max-examples", "30", "--seed", "12", "--max-time", "25"]
    argv += ["--phases", "examples,coverage,fuzzing", "--workers", "1"]
    argv += ["--request-timeout", "10", "--generation-database", "none", "--no-color"]
    # cwd: anything it writes (reports, caches) stays in the test's own directory.
    done = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, timeout=110, check=False
    )
    assert done.returncode == 0, (
        f"schemathesis found problems:\n{done.stdout[-8000:]}\n{done.stderr[-2000:]}"
    )
