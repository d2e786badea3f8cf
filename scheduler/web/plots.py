"""Plot geometry for the server-rendered SVGs (the templates draw it, autoescaped).

Durations and lateness of the last runs as bars, outcomes per day as stacked bars, and
the timeline's marks as percentages of its 48-hour axis. No JavaScript is involved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.core.job import LoadedJob
from scheduler.core.localtime import local_iso
from scheduler.store.runrow import RunRow

WIDTH, HEIGHT = 600, 120
STATUSES = ("succeeded", "failed", "skipped", "missed", "started", "enqueued")


def _bars(values: Sequence[tuple[float, str, str]]) -> dict[str, Any] | None:
    """Bars of (value, status, label) left to right, scaled to the largest value."""
    if not values:
        return None
    top = max(v for v, _, _ in values) or 1.0
    step = WIDTH / len(values)
    bars = []
    for i, (value, status, label) in enumerate(values):
        h = max(1.0, value / top * (HEIGHT - 10))
        bars.append(
            {
                "x": round(i * step, 1),
                "w": round(max(step - 1, 1), 1),
                "y": round(HEIGHT - h, 1),
                "h": round(h, 1),
                "status": status,
                "label": label,
            }
        )
    return {"bars": bars, "max": round(top, 3), "width": WIDTH, "height": HEIGHT}


def durations(runs: Sequence[RunRow]) -> dict[str, Any] | None:
    """The last runs' durations in seconds, oldest left."""
    return _bars(
        [
            (
                r.duration_s or 0.0,
                str(r.status),
                f"{r.scheduled_for.isoformat()}: {r.duration_s:.3f} s {r.status}",
            )
            for r in runs
            if r.duration_s is not None
        ]
    )


def lateness(runs: Sequence[RunRow]) -> dict[str, Any] | None:
    """How late each scheduled run was enqueued, in seconds (manual runs left out)."""
    values = []
    for r in runs:
        if r.enqueued_at is None or str(r.trigger) != "schedule":
            continue
        late = max(0.0, (r.enqueued_at - r.scheduled_for).total_seconds())
        values.append((late, str(r.status), f"{r.scheduled_for.isoformat()}: {late:.3f} s late"))
    return _bars(values)


def outcomes(per_day: Mapping[str, Mapping[str, int]], now: datetime, days: int) -> dict[str, Any]:
    """Stacked bars, one per UTC day of the last ``days``, one segment per final status."""
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    keys = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    top = max([sum(per_day.get(k, {}).values()) for k in keys] + [1])
    step = WIDTH / days
    columns = []
    for i, day in enumerate(keys):
        counts = per_day.get(day, {})
        y = float(HEIGHT)
        segments = []
        for status in STATUSES:
            n = counts.get(status, 0)
            if n:
                h = n / top * (HEIGHT - 10)
                y -= h
                segments.append(
                    {
                        "y": round(y, 1),
                        "h": round(h, 1),
                        "status": status,
                        "label": f"{day}: {n} {status}",
                    }
                )
        columns.append(
            {"x": round(i * step, 1), "w": round(step - 2, 1), "day": day, "segments": segments}
        )
    return {
        "columns": columns,
        "max": top,
        "width": WIDTH,
        "height": HEIGHT,
        "first": keys[0],
        "last": keys[-1],
    }


def _pct(t: datetime, start: datetime, end: datetime) -> float:
    return round((t - start) / (end - start) * 100, 3)


def timeline_axis(start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """Ticks every 3 hours (UTC) and the position of now."""
    first = start.replace(minute=0, second=0, microsecond=0)
    first += timedelta(hours=(3 - first.hour % 3) % 3)
    ticks = []
    t = first
    while t < end:
        if t >= start:
            ticks.append({"x": _pct(t, start, end), "label": t.strftime("%H:%M")})
        t += timedelta(hours=3)
    return {
        "ticks": ticks,
        "now": _pct(now, start, end),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def _transitions(job: LoadedJob, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The job zone's UTC offset changes inside the window (a DST night as it falls)."""
    tz = job.timezone
    out = []
    t = start.replace(minute=0, second=0, microsecond=0)
    before = t.astimezone(tz).utcoffset()
    while t < end:
        t += timedelta(minutes=30)
        after = t.astimezone(tz).utcoffset()
        if after != before:
            out.append(
                {
                    "x": _pct(t, start, end),
                    "label": (
                        f"{job.timezone_name}: UTC offset"
                        f" {_offset(before)} → {_offset(after)}"
                        f" at {local_iso(t, tz)}"
                    ),
                }
            )
            before = after
    return out


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def timeline_row(
    job: LoadedJob,
    past: Sequence[RunRow],
    future: Sequence[datetime],
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """One job's marks: its recorded runs (by status) and its scheduled ones (hollow)."""
    tz = job.timezone
    return {
        "name": job.name,
        "timezone": job.timezone_name,
        "past": [
            {
                "x": _pct(r.scheduled_for, start, end),
                "status": str(r.status),
                "label": f"{local_iso(r.scheduled_for, tz)} {r.status}",
            }
            for r in past
            if r.scheduled_for >= start
        ],
        "future": [{"x": _pct(t, start, end), "label": local_iso(t, tz)} for t in future],
        "dst": _transitions(job, start, end),
    }
