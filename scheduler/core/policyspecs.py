"""The policy mappings of a job file: misfire, dst, retries and on_failure."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool, StrictStr

from scheduler.core.policies import (
    DEFAULT_DST_GAP,
    DEFAULT_DST_REPEAT,
    DEFAULT_MAX_CATCHUP,
    DEFAULT_MISFIRE_POLICY,
    DstGap,
    DstRepeat,
    MisfirePolicy,
)
from scheduler.core.specbase import DurationText, StrictSpec, fail


def _check_webhook(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise fail("webhook_url", f"{value!r} is not an http:// or https:// URL")
    return value


WebhookUrl = Annotated[
    StrictStr,
    AfterValidator(_check_webhook),
    Field(max_length=2000, json_schema_extra={"format": "uri", "pattern": "^https?://"}),
]


class MisfireSpec(StrictSpec):
    """Runs that were due while the watcher was down or Redis unreachable."""

    policy: MisfirePolicy = Field(
        default=DEFAULT_MISFIRE_POLICY,
        description="skip: record them missed; run_once: run the latest once (default); "
        "run_all: run each, up to max_catchup.",
    )
    grace: DurationText | None = Field(
        default=None,
        description="A run found later than this is recorded missed (reason grace), never "
        "run. Default: no limit.",
    )
    max_catchup: int = Field(
        default=DEFAULT_MAX_CATCHUP,
        ge=1,
        le=10_000,
        description="run_all: at most this many catch-up runs.",
    )


class DstSpec(StrictSpec):
    """How a fixed-time job behaves on the two daylight-saving nights."""

    gap: DstGap = Field(
        default=DEFAULT_DST_GAP,
        description="A local time skipped by spring-forward: run_after (once, at the end of "
        "the gap; default) or skip.",
    )
    repeat: DstRepeat = Field(
        default=DEFAULT_DST_REPEAT,
        description="A local time repeated by fall-back: first (default) or both passes.",
    )


class RetriesSpec(StrictSpec):
    """Attempts after a failed one, through RQ's Retry: waits backoff * factor^n, capped."""

    max: int = Field(default=3, ge=1, le=100, description="Attempts after the first.")
    backoff: DurationText = Field(default="30s", description="Wait before the first retry.")
    factor: float = Field(default=2, ge=1, le=10, description="Each wait is this times the last.")
    max_backoff: DurationText = Field(default="10m", description="The longest wait.")


class OnFailureSpec(StrictSpec):
    """What to do when a run ends failed (after its last attempt)."""

    webhook: WebhookUrl | None = Field(
        default=None, description="POST a JSON description of the failed run to this URL."
    )
    log: StrictBool = Field(default=True, description="Log run.failure_alert at error level.")


class HistorySpec(StrictSpec):
    """How long a job's runs stay in the records (``core.retention``).

    A run goes only when it is older than its rule (``keep``, or ``keep_failed`` for a
    failed run) and is not among the job's last ``keep_last`` runs. A field left out comes
    from the defaults files, then the project settings, then the built-in defaults.
    """

    keep: DurationText | None = Field(
        default=None, description="Keep runs this long (default 30d); failed ones: keep_failed."
    )
    keep_failed: DurationText | None = Field(
        default=None, description="Keep failed runs this long (default 90d)."
    )
    keep_last: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        strict=True,
        description="Always keep the job's last N runs, however old (default 100).",
    )
