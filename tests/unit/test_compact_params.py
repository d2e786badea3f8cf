"""A compact job gives its params back as the full job does, without rebuilding its spec."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from scheduler.core import job as job_module
from scheduler.core.job import LoadedJob
from scheduler.core.models import JobSpec


def loaded(params: dict[str, Any] | None) -> LoadedJob:
    """A valid job with ``params`` (none at all for None)."""
    data: dict[str, Any] = {"name": "j", "task": "pkg.mod:func", "schedule": {"cron": "0 9 * * *"}}
    if params is not None:
        data["params"] = params
    return LoadedJob(JobSpec.model_validate(data), "j.yaml", 1)


@pytest.mark.parametrize(
    "params",
    [
        None,
        {},
        {"dry_run": False, "limit": 10, "ratio": 0.125, "note": None},
        {"nested": {"a": [1, 2.5, "x", True]}, "tags": ["a", "b"], "big": 2**62},
        {"since": date(2024, 1, 2)},  # not JSON-exact: kept aside as it is
        {"huge": 2**70},
    ],
)
def test_compact_params_are_the_full_jobs(params: dict[str, Any] | None) -> None:
    """Equal values of the same types, whatever JSON could hold of them."""
    full = loaded(params)
    compact = full.compact()
    assert compact.params == full.params
    assert [type(v) for v in compact.params.values()] == [type(v) for v in full.params.values()]


def test_compact_params_do_not_rebuild_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking a compact job for its params (production mode, for every job) validates
    nothing again."""
    compact = loaded({"dry_run": False}).compact()

    def rebuilt(*args: object) -> object:
        raise AssertionError("the spec was rebuilt")

    monkeypatch.setattr(job_module, "_spec_from_json", rebuilt)
    assert compact.params == {"dry_run": False}
