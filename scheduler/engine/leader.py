"""High availability: watchers on one Redis elect one leader with a lease; the rest stand by.

The lease is one Redis key (``LEASE_KEY``) set with ``SET NX PX``-like semantics by a
script that also takes the next epoch from ``EPOCH_KEY`` (``INCR``), so every leadership
has a value of its own: ``"<epoch>|<holder id>|<since>|<pid namespace>"``. The leader
renews it (compare, then ``PEXPIRE``) every third of the lease and releases it on a
graceful stop (compare, then ``DEL``), so a standby takes over at once instead of after
the lease runs out.

That value is also the fencing token. The dispatch script (``scheduler.engine.dispatch``)
refuses a run whose token is not the lease's current value, atomically with enqueueing
it, so a leader that was paused past its lease (GC, a stopped VM, a slow network) and
does not know it yet cannot dispatch: its late runs are refused, never doubled.

The elector is pure-ish: it decides from what the lease store answers and a monotonic
clock (both injected), and the Redis adapter (``RedisLease``) is three small scripts.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import redis
import structlog

from scheduler.core.clock import Clock
from scheduler.core.runs import iso_utc

log = structlog.get_logger("scheduler.leader")

LEASE_KEY = "scheduler:leader"
EPOCH_KEY = "scheduler:leader:epoch"
#: job name -> the latest scheduled instant dispatched (epoch ms), written by the dispatch
#: script in the same step as the run, so a new leader resumes where the old one stopped.
LAST_DISPATCHED_KEY = "scheduler:last_dispatched"
DEFAULT_LEASE = timedelta(seconds=10)
#: A standby asks for the lease this often (or every quarter lease if shorter): one cheap
#: script call, and the delay of a graceful handover.
STANDBY_POLL = 0.25


class Role(StrEnum):
    """What a watcher does about dispatching."""

    leader = "leader"  # holds the lease: dispatches due runs
    standby = "standby"  # jobs loaded and kept live, dispatches nothing


@dataclass(frozen=True, kw_only=True)
class Holder:
    """One leadership: who holds the lease, since when, and its fencing token."""

    epoch: int
    id: str  # "host:pid"
    since: datetime
    pid_ns: str = ""

    @property
    def token(self) -> str:
        """The lease's value while this leadership lasts (what the dispatch script checks)."""
        return f"{self.epoch}|{self.id}|{iso_utc(self.since)}|{self.pid_ns}"

    @classmethod
    def parse(cls, value: str) -> Holder | None:
        """The holder a lease value names; None for a value this version does not write."""
        parts = value.split("|")
        if len(parts) != 4:
            return None
        try:
            return cls(
                epoch=int(parts[0]),
                id=parts[1],
                since=datetime.fromisoformat(parts[2]),
                pid_ns=parts[3],
            )
        except ValueError:
            return None

    def as_json(self) -> dict[str, str | int]:
        return {"id": self.id, "since": iso_utc(self.since), "epoch": self.epoch}


class LeaseStore(Protocol):
    """Where the lease lives; ``RedisLease`` is the one implementation."""

    def acquire(self, holder_id: str, since: datetime, pid_ns: str, ttl_ms: int) -> str:
        """Take the lease if free (a new epoch); return the lease's value either way."""
        ...

    def take_from(self, old: str, holder_id: str, since: datetime, pid_ns: str, ttl_ms: int) -> str:
        """Take the lease if its value is still ``old``; return its value either way."""
        ...

    def renew(self, token: str, ttl_ms: int) -> bool:
        """Extend the lease if it still holds ``token``."""
        ...

    def release(self, token: str) -> bool:
        """Delete the lease if it still holds ``token``."""
        ...


_ACQUIRE = """
-- KEYS: lease, epoch counter. ARGV: holder id, since, pid namespace, ttl ms, expected value
-- With an expected value, take the lease only from that holder (a dead one); else only
-- when it is free. Returns the lease's value after the attempt.
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[5] then
    return current
end
if not current and ARGV[5] ~= '' then
    return ''
end
local epoch = redis.call('INCR', KEYS[2])
local value = epoch .. '|' .. ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[3]
redis.call('SET', KEYS[1], value, 'PX', ARGV[4])
return value
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLease:
    """The lease as three atomic scripts on one Redis."""

    def __init__(self, conn: redis.Redis) -> None:
        self._acquire = conn.register_script(_ACQUIRE)
        self._renew = conn.register_script(_RENEW)
        self._release = conn.register_script(_RELEASE)

    def acquire(self, holder_id: str, since: datetime, pid_ns: str, ttl_ms: int) -> str:
        return self.take_from("", holder_id, since, pid_ns, ttl_ms)

    def take_from(self, old: str, holder_id: str, since: datetime, pid_ns: str, ttl_ms: int) -> str:
        args: list[str | int] = [holder_id, iso_utc(since), pid_ns, ttl_ms, old]
        return _text(self._acquire(keys=[LEASE_KEY, EPOCH_KEY], args=args))

    def renew(self, token: str, ttl_ms: int) -> bool:
        return bool(self._renew(keys=[LEASE_KEY], args=[token, ttl_ms]))

    def release(self, token: str) -> bool:
        return bool(self._release(keys=[LEASE_KEY], args=[token]))


class LeaderElector:
    """Decides, at each ``tick``, whether this watcher leads; logs every change of role.

    ``tick`` is cheap and called on every loop turn: it talks to Redis only when the
    lease is due for renewal (every third of ``ttl``) or, in standby, every
    ``poll`` seconds. A leader that cannot renew (Redis down) stays leader until its own
    lease would have run out (measured from when the last successful renewal was *sent*,
    so never later than Redis' expiry), then steps down.
    """

    def __init__(
        self,
        lease: LeaseStore,
        *,
        clock: Clock,
        ttl: timedelta = DEFAULT_LEASE,
        holder_id: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        holder_is_dead: Callable[[Holder], bool] | None = None,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("the lease must be longer than zero")
        self._lease = lease
        self._clock = clock
        self._ttl_s = ttl.total_seconds()
        self._ttl_ms = max(1, int(ttl.total_seconds() * 1000))
        self.id = holder_id or f"{socket.gethostname()}:{os.getpid()}"
        self._pid_ns = _pid_namespace()
        self._monotonic = monotonic
        self._holder_is_dead = holder_is_dead or _dead_on_this_host
        self.role = Role.standby
        #: The leadership currently holding the lease, as last seen (ours or another's).
        self.holder: Holder | None = None
        #: This leadership directly follows this watcher's own previous one: no other
        #: watcher led in between (epochs are taken only by a successful acquisition).
        self.continued = False
        self._epoch: int | None = None  # of this watcher's latest leadership
        self._valid_until = 0.0
        self._next_call = 0.0
        # ``renew_due`` runs on the renewal thread (``engine.renewal``) while the loop ticks.
        self._lock = threading.Lock()

    @property
    def ttl_s(self) -> float:
        """The lease's length in seconds."""
        return self._ttl_s

    @property
    def poll_s(self) -> float:
        """Longest wait between two ticks that keeps this watcher's promises."""
        return min(STANDBY_POLL, self._ttl_s / 4) if self.role is Role.standby else self._ttl_s / 3

    @property
    def is_leader(self) -> bool:
        return self.role is Role.leader and self._monotonic() < self._valid_until

    @property
    def token(self) -> str | None:
        """The fencing token dispatches must carry, while leading."""
        return self.holder.token if self.role is Role.leader and self.holder else None

    def tick(self) -> bool:
        """Acquire, renew or step down as due; True when this watcher just became leader."""
        with self._lock:
            return self._tick(acquire=True)

    def renew_due(self) -> None:
        """Renew the lease if this watcher leads and a renewal is due; never acquire it.

        Safe from another thread: the renewal thread calls it while the loop is busy in a
        long step. It renews only the token this watcher still holds (the script compares
        it), and steps down as ``tick`` would when the lease has run out or was taken.
        """
        with self._lock:
            if self.role is Role.leader:
                self._tick(acquire=False)

    def _tick(self, *, acquire: bool) -> bool:
        now_m = self._monotonic()
        if self.role is Role.leader and now_m >= self._valid_until:
            self._step_down("lease_expired")
        if now_m < self._next_call or (not acquire and self.role is not Role.leader):
            return False
        try:
            return self._renew(now_m) if self.role is Role.leader else self._try_acquire(now_m)
        except redis.RedisError as exc:
            self._next_call = now_m + min(self.poll_s, 1.0)
            if self.role is Role.leader:
                log.warning(
                    "leader.renew_failed",
                    watcher=self.id,
                    error=str(exc),
                    valid_for_s=round(self._valid_until - now_m, 3),
                )
            return False

    def lost(self, why: str) -> None:
        """Step down at once (a dispatch was refused: another watcher holds the lease)."""
        with self._lock:
            if self.role is Role.leader:
                self._step_down(why)
                self._next_call = 0.0

    def release(self) -> None:
        """Give the lease up (graceful stop), so a standby takes over without waiting."""
        with self._lock:
            token = self.token
            self.role = Role.standby
        if token is None:
            return
        try:
            released = self._lease.release(token)
        except redis.RedisError as exc:
            log.warning("leader.release_failed", watcher=self.id, error=str(exc))
            return
        log.info("leader.released", watcher=self.id, released=released)

    def _renew(self, now_m: float) -> bool:
        assert self.holder is not None
        if self._lease.renew(self.holder.token, self._ttl_ms):
            self._valid_until = now_m + self._ttl_s
            self._next_call = now_m + self._ttl_s / 3
        else:
            self._step_down("lease_taken")
            self._next_call = now_m  # look at who holds it now, at once
        return False

    def _try_acquire(self, now_m: float) -> bool:
        self._next_call = now_m + self.poll_s
        since = self._clock.now()
        value = self._lease.acquire(self.id, since, self._pid_ns, self._ttl_ms)
        current = Holder.parse(value) if value else None
        if current is not None and current.id != self.id and self._holder_is_dead(current):
            # A watcher on this host that was killed left its lease behind: a restart on the
            # same machine need not wait for it to run out.
            dead = current
            value = self._lease.take_from(value, self.id, since, self._pid_ns, self._ttl_ms)
            current = Holder.parse(value) if value else None
            if current is not None and current.id == self.id:
                log.info("leader.stale_lease_taken", watcher=self.id, previous=dead.id)
        # Our own value (this process led before Redis went away and came back) is ours again.
        if current is None or current.id != self.id:
            if current != self.holder:
                self.holder = current
                log.info(
                    "leader.standby",
                    watcher=self.id,
                    leader=None if current is None else current.id,
                    leader_since=None if current is None else iso_utc(current.since),
                )
            return False
        self.holder = current
        self.role = Role.leader
        self.continued = self._epoch is not None and current.epoch - self._epoch <= 1
        self._epoch = current.epoch
        self._valid_until = now_m + self._ttl_s
        self._next_call = now_m + self._ttl_s / 3
        log.info(
            "leader.acquired",
            watcher=self.id,
            epoch=current.epoch,
            lease_s=self._ttl_s,
        )
        return True

    def _step_down(self, why: str) -> None:
        self.role = Role.standby
        self.holder = None
        log.warning("leader.lost", watcher=self.id, reason=why)


def _pid_namespace() -> str:
    # Two containers may share a host name; only the same pid namespace makes a pid check
    # about the same process.
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _dead_on_this_host(holder: Holder) -> bool:
    """True only when ``holder`` surely ran on this host, in this pid namespace, and is gone."""
    host, _, pid_text = holder.id.rpartition(":")
    if host != socket.gethostname() or not holder.pid_ns or holder.pid_ns != _pid_namespace():
        return False
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A zombie (killed, not yet reaped by its parent) is gone too.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] == "Z"
    return False


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
