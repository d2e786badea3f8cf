"""Runtime pauses: a job held without a commit, for incidents (``scheduler pause``).

A pause lives in Redis (the hash ``PAUSES``, one field per job, a JSON value), so every
watcher on that Redis sees it, and ``status``/``health`` can show it as drift from git.
The YAML stays the source of truth for everything else; ``enabled: false`` still
disables a job for good. The pause itself is a value, :class:`scheduler.core.pause.Pause`.
"""

from __future__ import annotations

import json

import redis

from scheduler.core.pause import Pause

PAUSES = "scheduler:paused"
_CLEAR_IF_SAME = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
    return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


def read(conn: redis.Redis) -> dict[str, Pause]:
    """Every stored pause, expired ones included; malformed entries are ignored."""
    out: dict[str, Pause] = {}
    for name, raw in conn.hgetall(PAUSES).items():
        try:
            pause = Pause.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            continue
        out[_text(name)] = pause
    return out


def save(conn: redis.Redis, pause: Pause) -> None:
    """Store (or replace) the pause of ``pause.job``."""
    conn.hset(PAUSES, pause.job, json.dumps(pause.as_json()))


def clear(conn: redis.Redis, job: str) -> Pause | None:
    """Remove the pause of ``job``; the pause removed, or None if it was not paused."""
    pipe = conn.pipeline()
    pipe.hget(PAUSES, job)
    pipe.hdel(PAUSES, job)
    raw, _ = pipe.execute()
    if raw is None:
        return None
    try:
        return Pause.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError):
        return None


def clear_if_unchanged(conn: redis.Redis, pause: Pause) -> bool:
    """Remove an expired pause unless someone replaced it meanwhile; True if removed."""
    # As EVALSHA, the text sent again only after a NOSCRIPT: Redis 8 and Valkey 8 may
    # evict scripts sent by plain EVAL, and the other scripts here go the same way.
    script = conn.register_script(_CLEAR_IF_SAME)
    return bool(script(keys=[PAUSES], args=[pause.job, json.dumps(pause.as_json())]))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
