"""The CPUs this process may use, which in a container is not the host's count.

``os.cpu_count()`` is the host's: a container limited to one CPU on a 64-core host saw 64,
and forked 64 parse workers that took turns on that one CPU. What bounds us is the CPU
affinity (``taskset``, Kubernetes' static CPU manager, Docker's ``--cpuset-cpus``) and the
cgroup's CFS quota (Docker's ``--cpus``, a Kubernetes CPU limit).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

#: Where the cgroup file systems are mounted. In a container, its own cgroup (Docker and
#: Kubernetes mount it there, with cgroup v2's namespace or v1's bind mounts).
CGROUP_ROOT = Path("/sys/fs/cgroup")


def usable_cpus(cgroup_root: Path | None = None) -> int:
    """How many CPUs this process can keep busy at once: its affinity's CPUs, capped by the
    cgroup's CPU quota under ``cgroup_root`` (default ``CGROUP_ROOT``), rounded up; at
    least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform (macOS): every CPU is ours
        cpus = os.cpu_count() or 1
    quota = cgroup_quota_cpus(CGROUP_ROOT if cgroup_root is None else cgroup_root)
    if quota is not None:
        cpus = min(cpus, quota)
    return max(1, cpus)


def cgroup_quota_cpus(root: Path) -> int | None:
    """The CPUs the CFS quota under ``root`` allows, rounded up (1.5 CPUs: 2, as the
    second one is busy half the time); None without a quota or a readable cgroup.

    cgroup v2's ``cpu.max`` ("quota period", or "max period" for none) first, then v1's
    ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` (a quota of -1: none).
    """
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        return _cpus(quota, period)
    for controller in ("cpu", "cpu,cpuacct"):
        v1 = _read(root / controller / "cpu.cfs_quota_us")
        if v1 is not None:
            return _cpus(v1, _read(root / controller / "cpu.cfs_period_us") or "")
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):  # no such controller, or not ours to read
        return None


def _cpus(quota: str, period: str) -> int | None:
    # "max" (v2) and -1 (v1) mean no quota; a value we cannot read is taken as none, so
    # that the affinity alone decides rather than a guess.
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:
        return None
    if quota_us <= 0 or period_us <= 0:
        return None
    return max(1, math.ceil(quota_us / period_us))
