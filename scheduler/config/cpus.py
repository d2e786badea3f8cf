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


#: Where the kernel says which cgroup this process is in, one line per hierarchy.
SELF_CGROUP = Path("/proc/self/cgroup")


def usable_cpus(cgroup_root: Path | None = None, self_cgroup: Path | None = None) -> int:
    """How many CPUs this process can keep busy at once: its affinity's CPUs, capped by the
    CPU quota of its cgroup and of every cgroup above it under ``cgroup_root`` (default
    ``CGROUP_ROOT``; which cgroup is ours: ``self_cgroup``, default ``SELF_CGROUP``),
    rounded up; at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform (macOS): every CPU is ours
        cpus = os.cpu_count() or 1
    v2, v1 = own_cgroups(_read(SELF_CGROUP if self_cgroup is None else self_cgroup) or "")
    root = CGROUP_ROOT if cgroup_root is None else cgroup_root
    quota = cgroup_quota_cpus(root, v2, v1)
    if quota is not None:
        cpus = min(cpus, quota)
    return max(1, cpus)


def own_cgroups(text: str) -> tuple[str, str]:
    """This process's cgroup paths from ``/proc/self/cgroup``'s text: cgroup v2's (the
    ``0::`` line) and v1's cpu controller's; "/" for any not listed.

    In a container with its own cgroup namespace both read "/" (the mount's root is its
    cgroup); a systemd service with ``CPUQuota=`` reads its slice, where the quota is.
    """
    v2 = v1 = "/"
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            v2 = path or "/"
        elif "cpu" in controllers.split(","):
            v1 = path or "/"
    return v2, v1


def cgroup_quota_cpus(root: Path, v2_path: str = "/", v1_path: str = "/") -> int | None:
    """The CPUs the tightest CFS quota allows on the way from the cgroup at ``v2_path``
    (cgroup v2) or ``v1_path`` (v1's cpu controller) up to ``root``, rounded up (1.5
    CPUs: 2, as the second one is busy half the time); None without a quota or a
    readable cgroup. A parent's quota bounds every cgroup below it.

    cgroup v2's ``cpu.max`` ("quota period", or "max period" for none) first, then v1's
    ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` (a quota of -1: none). A level that
    is not there (a path from outside a container's view) is passed over.
    """
    v2 = [_read(root.joinpath(*sub, "cpu.max")) for sub in _levels(v2_path)]
    if any(text is not None for text in v2):
        quotas = [_cpus(*_quota_period(text)) for text in v2 if text is not None]
    else:
        quotas = [
            _v1_quota(root.joinpath(controller, *sub))
            for controller in ("cpu", "cpu,cpuacct")
            for sub in _levels(v1_path)
        ]
    known = [q for q in quotas if q is not None]
    return min(known) if known else None


def _levels(path: str) -> list[list[str]]:
    # The root, then each folder down to the cgroup itself.
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    return [parts[:depth] for depth in range(len(parts) + 1)]


def _quota_period(cpu_max: str) -> tuple[str, str]:
    quota, _, period = cpu_max.partition(" ")
    return quota, period


def _v1_quota(folder: Path) -> int | None:
    quota = _read(folder / "cpu.cfs_quota_us")
    return None if quota is None else _cpus(quota, _read(folder / "cpu.cfs_period_us") or "")


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
