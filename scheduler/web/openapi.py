"""The OpenAPI 3 document of ``/api/v1``, written by hand to match what the handlers return.

schemathesis runs against it: change a handler, change this.
"""

from __future__ import annotations

from typing import Any

from scheduler.core.ledger import LEDGER

_STR_OR_NULL = {"type": ["string", "null"]}
_NUM_OR_NULL = {"type": ["number", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "An error")
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_AUTH: list[dict[str, list[str]]] = [{"bearer": []}]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "param": {"type": "string"}},
    },
    "LastRun": {
        "type": ["object", "null"],
        "required": ["run_id", "scheduled_for", "status", "state", "trigger"],
        "properties": {
            "run_id": {"type": "string"},
            "scheduled_for": {"type": "string"},
            "status": {"type": "string"},
            "state": {"type": "string"},
            "trigger": {"type": "string"},
            "duration_s": _NUM_OR_NULL,
            "error": _STR_OR_NULL,
        },
    },
    "Pause": {
        "type": "object",
        "required": ["job", "by", "at", "reason", "until"],
        "properties": {
            "job": {"type": "string"},
            "by": {"type": "string"},
            "at": {"type": "string"},
            "reason": {"type": "string"},
            "until": _STR_OR_NULL,
        },
    },
    "Job": {
        "type": "object",
        "required": [
            "name",
            "task",
            "queue",
            "enabled",
            "state",
            "schedule",
            "timezone",
            "next_run",
            "last_run",
            "file",
            "line",
        ],
        "properties": {
            "name": {"type": "string"},
            "description": _STR_OR_NULL,
            "task": {"type": "string"},
            "queue": {"type": "string"},
            "enabled": {"type": "boolean"},
            "state": {"enum": ["enabled", "disabled", "paused", "canary"]},
            "paused": {"oneOf": [_ref("Pause"), {"type": "null"}]},
            "canary": {"type": "integer"},
            "mode": {"enum": ["dry-run", "production", None]},
            "schedule": {"type": "object"},
            "schedule_text": {"type": "string"},
            "timezone": {"type": "string"},
            "next_run": _STR_OR_NULL,
            "next_run_utc": _STR_OR_NULL,
            "last_run": _ref("LastRun"),
            "file": {"type": "string"},
            "line": {"type": "integer"},
        },
    },
    "JobDetail": {
        "allOf": [
            _ref("Job"),
            {
                "type": "object",
                "required": ["params", "definition"],
                "properties": {"params": {"type": "object"}, "definition": {"type": "object"}},
            },
        ]
    },
    "Run": {
        "type": "object",
        "description": "A row as `scheduler history --format json` prints it.",
        "required": [
            "job",
            "run_id",
            "rq_job_id",
            "scheduled_for",
            "trigger",
            "status",
            "state",
            "attempts",
            "canary",
        ],
        "properties": {
            "job": {"type": "string"},
            "run_id": {"type": "string"},
            "rq_job_id": {"type": "string"},
            "scheduled_for": {"type": "string"},
            "trigger": {"type": "string"},
            "status": {"type": "string"},
            "state": {"type": "string"},
            "enqueued_at": _STR_OR_NULL,
            "started_at": _STR_OR_NULL,
            "finished_at": _STR_OR_NULL,
            "duration_s": _NUM_OR_NULL,
            "error": _STR_OR_NULL,
            "traceback": _STR_OR_NULL,
            "result": {},
            "worker": _STR_OR_NULL,
            "note": _STR_OR_NULL,
            "canary": {"type": "boolean"},
            "reason": _STR_OR_NULL,
            "attempts": {"type": "integer"},
        },
    },
    "Triggered": {
        "type": "object",
        "required": ["job", "run_id", "queue", "scheduled_for", "trigger", "enqueued", "canary"],
        "properties": {
            "job": {"type": "string"},
            "run_id": {"type": "string"},
            "queue": {"type": "string"},
            "scheduled_for": {"type": "string"},
            "trigger": {"type": "string"},
            "enqueued": {"type": "boolean"},
            "canary": {"type": "boolean"},
        },
    },
    "PauseRequest": {
        "type": "object",
        "required": ["reason"],
        "properties": {
            "reason": {"type": "string", "minLength": 1},
            "until": {"type": ["string", "null"], "description": "2h, 1d, or ISO-8601"},
        },
    },
}


def _action(summary: str, ok: int, schema: dict[str, Any], body: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": _AUTH,
        "parameters": [_NAME],
        "responses": {
            str(ok): _json(schema, "Done"),
            "401": _ERROR,
            "403": _ERROR,
            "404": _ERROR,
            "422": _ERROR,
            "503": _ERROR,
        },
    }
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref("PauseRequest")}},
        }
    return {"post": op}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at ``/api/v1/openapi.json``."""
    query = [
        _NAME,
        {
            "name": "status",
            "in": "query",
            "schema": {"enum": list(LEDGER)},
            "description": "A status or ledger state.",
        },
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1},
            "description": "At most 500 rows come back, whatever is asked.",
        },
        {
            "name": "cursor",
            "in": "query",
            "schema": {"type": "string"},
            "description": "The next_cursor of the previous page.",
        },
    ]
    jobs = {
        "type": "object",
        "required": ["jobs"],
        "properties": {"jobs": {"type": "array", "items": _ref("Job")}},
    }
    runs = {
        "type": "object",
        "required": ["runs", "next_cursor"],
        "properties": {
            "runs": {"type": "array", "items": _ref("Run")},
            "next_cursor": _STR_OR_NULL,
        },
    }
    resumed = {
        "type": "object",
        "required": ["job", "resumed"],
        "properties": {"job": {"type": "string"}, "resumed": {"type": "boolean"}},
    }
    paused = {"type": "object", "required": ["paused"], "properties": {"paused": _ref("Pause")}}
    health = {"type": "object", "required": ["watcher", "records", "redis", "rejected_files"]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "scheduler operator API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/health": {
                "get": {
                    "summary": "Watcher, records and Redis health",
                    "responses": {
                        "200": _json(health, "Healthy"),
                        "503": _json(health, "Unhealthy"),
                    },
                }
            },
            "/jobs": {
                "get": {"summary": "Every valid job", "responses": {"200": _json(jobs, "The jobs")}}
            },
            "/jobs/{name}": {
                "get": {
                    "summary": "One job",
                    "parameters": [_NAME],
                    "responses": {"200": _json(_ref("JobDetail"), "The job"), "404": _ERROR},
                }
            },
            "/jobs/{name}/history": {
                "get": {
                    "summary": "The job's runs, newest first, by pages",
                    "parameters": query,
                    "responses": {
                        "200": _json(runs, "A page of runs"),
                        "404": _ERROR,
                        "422": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/jobs/{name}/trigger": _action("Run now (202: enqueued)", 202, _ref("Triggered")),
            "/jobs/{name}/pause": _action("Pause at runtime", 200, paused, body=True),
            "/jobs/{name}/resume": _action("Resume", 200, resumed),
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
