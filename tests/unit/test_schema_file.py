"""The committed JSON Schema is what the models generate, and it accepts the shipped jobs."""

from __future__ import annotations

import json
from pathlib import Path

from scheduler.config.defaults import json_schema as defaults_schema
from scheduler.core.models import json_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "job.schema.json"
DEFAULTS_SCHEMA_FILE = ROOT / "schemas" / "defaults.schema.json"


def test_committed_schema_is_up_to_date() -> None:
    """schemas/job.schema.json equals the models' schema (run `make schema` to refresh)."""
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == json_schema(), "schemas/job.schema.json is stale: run `make schema`"


def test_committed_defaults_schema_is_up_to_date() -> None:
    """schemas/defaults.schema.json equals the schema derived from the models."""
    committed = json.loads(DEFAULTS_SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == defaults_schema(), "schemas/defaults.schema.json is stale: make schema"


def test_shipped_files_point_editors_at_their_schema() -> None:
    """Every file in jobs.d/ carries a yaml-language-server $schema line that resolves:
    the job schema for job files, the defaults schema for _defaults.yaml."""
    for path in sorted((ROOT / "jobs.d").rglob("*.y*ml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        prefix = "# yaml-language-server: $schema="
        assert first.startswith(prefix), path
        target = (path.parent / first[len(prefix) :]).resolve()
        expected = DEFAULTS_SCHEMA_FILE if path.name.startswith("_defaults") else SCHEMA_FILE
        assert target == expected, path


def test_schema_requires_exactly_one_schedule_kind() -> None:
    """Editors see the same 'exactly one kind' rule that validate enforces."""
    schedule = json_schema()["$defs"]["ScheduleSpec"]
    kinds = [alt["required"][0] for alt in schedule["oneOf"]]
    assert kinds == ["cron", "interval", "daily", "weekly", "at"]
    assert schedule["additionalProperties"] is False


def test_schema_accepts_shipped_jobs_and_rejects_typos() -> None:
    """A JSON Schema validator (as in editors) accepts jobs.d/ and flags an unknown field."""
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(json_schema())
    for_defaults = jsonschema.Draft202012Validator(defaults_schema())
    for path in sorted((ROOT / "jobs.d").rglob("*.y*ml")):
        check = for_defaults if path.name.startswith("_defaults") else validator
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert not list(check.iter_errors(doc)), path
    assert list(for_defaults.iter_errors({"task": "m:f"}))
    assert list(for_defaults.iter_errors({"schedule": {"cron": "* * * * *"}}))
    typo = {"name": "x", "task": "m:f", "schedule": {"cron": "* * * * *", "timezon": "UTC"}}
    assert list(validator.iter_errors(typo))
    two_kinds = {"name": "x", "task": "m:f", "schedule": {"cron": "* * * * *", "interval": "5m"}}
    assert list(validator.iter_errors(two_kinds))
