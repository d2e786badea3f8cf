"""``/metrics``: Prometheus text from the state read at scrape time (prometheus_client).

A custom collector on the server's own registry (no process-global state), so every scrape
reads the records, the catalog and Redis afresh through the cached snapshot. The label is
``job_name``: Prometheus keeps ``job`` for the scrape target.

The run counters come from the records' totals, which a retention prune shrinks. So the
collector keeps, per series, what it has seen pruned away (a drop in a total) and adds it
back: a counter never goes down while this process lives; a restart resets it, which
Prometheus' rate() handles as any counter reset.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from scheduler.core.errors import SchedulerError
from scheduler.engine.overview import Overview
from scheduler.engine.runlog import DURATION_SQL, LATENESS_SQL

DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0)
FINAL = ("succeeded", "failed", "skipped", "missed")


def _ts(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()


class StateCollector(Collector):
    def __init__(self, overview: Overview) -> None:
        self.overview = overview
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], int] = {}
        self._pruned: dict[tuple[str, str], int] = {}

    def _monotonic(self, totals: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
        with self._lock:
            for key, seen in self._seen.items():
                now = totals.get(key, 0)
                if now < seen:
                    self._pruned[key] = self._pruned.get(key, 0) + seen - now
            self._seen = dict(totals)
            keys = set(totals) | set(self._pruned)
            return {k: totals.get(k, 0) + self._pruned.get(k, 0) for k in keys}

    def collect(self) -> Iterator[Metric]:
        snap = self.overview.snapshot()
        runlog = self.overview.runlog
        nxt = GaugeMetricFamily(
            "scheduler_job_next_run_timestamp_seconds",
            "When the job runs next (Unix time); absent when it will not.",
            labels=["job_name"],
        )
        success = GaugeMetricFamily(
            "scheduler_job_last_success_timestamp_seconds",
            "When the job's latest succeeded run finished (Unix time).",
            labels=["job_name"],
        )
        enabled = GaugeMetricFamily(
            "scheduler_job_enabled", "1 when the job is enabled in git.", labels=["job_name"]
        )
        paused = GaugeMetricFamily(
            "scheduler_job_paused", "1 while the job is paused at runtime.", labels=["job_name"]
        )
        for row in snap.jobs:
            name = row["name"]
            enabled.add_metric([name], 1.0 if row["enabled"] else 0.0)
            paused.add_metric([name], 1.0 if row["paused"] else 0.0)
            at = _ts(row["next_run_utc"])
            if at is not None:
                nxt.add_metric([name], at)
        runs = CounterMetricFamily(
            "scheduler_runs",
            "Runs that ended, by job and final status (pruned runs still counted).",
            labels=["job_name", "status"],
        )
        duration = HistogramMetricFamily(
            "scheduler_run_duration_seconds", "How long runs took (worker-measured)."
        )
        lateness = HistogramMetricFamily(
            "scheduler_dispatch_lateness_seconds",
            "From a scheduled run's instant to its enqueue into RQ.",
        )
        up = 1.0
        try:
            for name, done in runlog.last_success().items():
                success.add_metric([name], done.timestamp())
            totals = {k: n for k, n in runlog.totals().items() if k[1] in FINAL}
            for (name, status), n in sorted(self._monotonic(totals).items()):
                runs.add_metric([name, status], float(n))
            for family, expr, buckets in (
                (duration, DURATION_SQL, DURATION_BUCKETS),
                (lateness, LATENESS_SQL, LATENESS_BUCKETS),
            ):
                counts, count, total = runlog.histogram(expr, buckets)
                pairs = [(str(b), float(c)) for b, c in zip(buckets, counts, strict=True)]
                family.add_metric([], [*pairs, ("+Inf", float(count))], total)
        except SchedulerError:
            up = 0.0
        yield from (nxt, success, enabled, paused, runs, duration, lateness)
        watcher = snap.watcher
        gen = GaugeMetricFamily(
            "scheduler_config_generation_info",
            "The live config generation the watcher reports (as a label).",
            labels=["generation"],
        )
        if watcher["generation"]:
            gen.add_metric([str(watcher["generation"])], 1.0)
        yield gen
        yield GaugeMetricFamily(
            "scheduler_rejected_files",
            "Job files rejected (invalid) right now.",
            value=float(len({e["file"] for e in snap.rejected})),
        )
        beat = GaugeMetricFamily(
            "scheduler_watcher_heartbeat_age_seconds", "Age of the watcher's last heartbeat."
        )
        if watcher["heartbeat_age_s"] is not None:
            beat.add_metric([], float(watcher["heartbeat_age_s"]))
        yield beat
        yield GaugeMetricFamily(
            "scheduler_watcher_leader",
            "1 when the watcher of this data dir leads.",
            value=1.0 if watcher["role"] == "leader" else 0.0,
        )
        yield GaugeMetricFamily(
            "scheduler_watcher_healthy",
            "1 when the watcher's heartbeat is fresh.",
            value=1.0 if watcher["healthy"] else 0.0,
        )
        yield GaugeMetricFamily(
            "scheduler_records_readable",
            "1 when the SQLite records could be read.",
            value=0.0 if snap.records_error else up,
        )
        yield GaugeMetricFamily(
            "scheduler_redis_reachable",
            "1 when Redis answered the last read.",
            value=0.0 if snap.redis_error else 1.0,
        )


def registry(overview: Overview) -> CollectorRegistry:
    """A fresh registry holding only this server's collector."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StateCollector(overview))
    return reg
