"""Usable CPUs: the affinity and the cgroup's CPU quota, not the host's count.

The cgroups are folders laid out as ``/sys/fs/cgroup`` is in a container (v2's ``cpu.max``,
v1's ``cpu/cpu.cfs_*``) in ``tmp_path``; the affinity is a real one, set in a child process
as ``taskset`` would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.config import cpus, parsepool, splitread
from scheduler.config.cpus import cgroup_quota_cpus, usable_cpus

OWN = len(os.sched_getaffinity(0))


def cgroup_v2(root: Path, cpu_max: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def cgroup_v1(root: Path, quota: int, period: int, controller: str = "cpu") -> Path:
    folder = root / controller
    folder.mkdir(parents=True)
    (folder / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (folder / "cpu.cfs_period_us").write_text(f"{period}\n")
    return root


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("100000 100000", 1),
        ("50000 100000", 1),  # half a CPU is still one worker
        ("150000 100000", 2),  # the second CPU is busy half the time
        ("400000 100000", 4),
        ("max 100000", None),
        ("garbage", None),
        ("", None),
    ],
)
def test_cgroup_v2_quota(tmp_path: Path, cpu_max: str, expected: int | None) -> None:
    """``cpu.max`` ("quota period") gives the quota's CPUs rounded up; "max" is none."""
    assert cgroup_quota_cpus(cgroup_v2(tmp_path, cpu_max)) == expected


@pytest.mark.parametrize(
    ("quota", "period", "expected"),
    [(100000, 100000, 1), (250000, 100000, 3), (20000, 10000, 2), (-1, 100000, None)],
)
def test_cgroup_v1_quota(tmp_path: Path, quota: int, period: int, expected: int | None) -> None:
    """v1's ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us``; a quota of -1 is none."""
    assert cgroup_quota_cpus(cgroup_v1(tmp_path, quota, period)) == expected


def test_cgroup_v1_combined_controller_folder(tmp_path: Path) -> None:
    """Where v1 mounts cpu and cpuacct together (``cpu,cpuacct``) the quota is read there."""
    assert cgroup_quota_cpus(cgroup_v1(tmp_path, 200000, 100000, "cpu,cpuacct")) == 2


def test_no_cgroup_no_quota(tmp_path: Path) -> None:
    """No cgroup files at all (not Linux, or not mounted): no quota, the affinity decides."""
    assert cgroup_quota_cpus(tmp_path) is None
    assert usable_cpus(tmp_path) == OWN


def test_the_quota_caps_the_affinity(tmp_path: Path) -> None:
    """A one-CPU quota on a many-CPU machine: one usable CPU; a quota above the CPUs we
    may run on does not add any."""
    assert usable_cpus(cgroup_v2(tmp_path / "one", "100000 100000")) == 1
    assert usable_cpus(cgroup_v2(tmp_path / "many", f"{(OWN + 8) * 100000} 100000")) == OWN
    assert usable_cpus(cgroup_v1(tmp_path / "v1", 100000, 100000)) == 1


def test_a_parent_cgroup_quota_bounds_the_cgroups_below_it(tmp_path: Path) -> None:
    """A systemd slice with ``CPUQuota=100%`` above a service with none (v2), or a v1
    parent's quota: one CPU; the tighter of the two wins, whichever level holds it."""
    cgroup_v2(tmp_path / "v2", "100000 100000")
    cgroup_v2(tmp_path / "v2" / "app.slice", "max 100000")
    cgroup_v2(tmp_path / "v2" / "app.slice" / "x.service", "300000 100000")
    assert cgroup_quota_cpus(tmp_path / "v2", "/app.slice/x.service") == 1
    cgroup_v2(tmp_path / "v2", "max 100000")
    assert cgroup_quota_cpus(tmp_path / "v2", "/app.slice/x.service") == 3
    assert cgroup_quota_cpus(tmp_path / "v2", "/app.slice") is None

    cgroup_v1(tmp_path / "v1", 200000, 100000)
    cgroup_v1(tmp_path / "v1", -1, 100000, "cpu/docker")
    assert cgroup_quota_cpus(tmp_path / "v1", v1_path="/docker") == 2


def test_the_cgroup_is_the_one_proc_self_cgroup_names(tmp_path: Path) -> None:
    """``/proc/self/cgroup`` says where this process is: its quota applies; a path that is
    not under the mount (a container's view without its own namespace) leaves the root's."""
    cgroup_v2(tmp_path / "root" / "work.slice", "100000 100000")
    own = tmp_path / "cgroup"
    own.write_text("0::/work.slice\n")
    assert usable_cpus(tmp_path / "root", own) == 1
    own.write_text("0::/elsewhere/x.scope\n")
    assert usable_cpus(tmp_path / "root", own) == OWN
    cgroup_v1(tmp_path / "hybrid", 100000, 100000, "cpu/docker/abc")
    own.write_text("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n")
    assert usable_cpus(tmp_path / "hybrid", own) == 1


def test_a_one_cpu_container_reads_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a 64-CPU host, a container with a one-CPU quota reads a big tree without a pool
    and without a helper; with no quota, the pool has a worker per CPU."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(cpus, "CGROUP_ROOT", cgroup_v2(tmp_path / "one", "100000 100000"))
    assert parsepool.pool_size(100_000) == 0
    assert not splitread.spare_core()
    monkeypatch.setattr(cpus, "CGROUP_ROOT", cgroup_v2(tmp_path / "none", "max 100000"))
    assert parsepool.pool_size(100_000) == 64
    assert splitread.spare_core()


_CHILD = """
import json, os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
from pathlib import Path
from scheduler.config import cpus, parsepool
print(json.dumps({
    "usable": cpus.usable_cpus(Path(sys.argv[2])),
    "usable_here": cpus.usable_cpus(),
    "pool": parsepool.pool_size(100_000),
}))
"""


def test_a_process_pinned_to_one_cpu_starts_no_pool(tmp_path: Path) -> None:
    """A process whose affinity is one CPU (``taskset -c N``) counts one usable CPU and
    reads a big tree in-process, on a machine of any size."""
    cpu = min(os.sched_getaffinity(0))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(cpu), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == {"usable": 1, "usable_here": 1, "pool": 0}
