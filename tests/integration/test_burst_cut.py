"""A watcher cut off while it stages a burst leaves nothing that no sweep would find.

Staged copies carry no expiry of their own; they go with their burst's list, which the
burst index holds. So whatever prefix of the staging pipeline reaches Redis before the
connection drops (the watcher killed, the network gone), every staged copy in Redis is
listed in a burst that the index holds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from scheduler.engine.dispatch import BURST_INDEX, STAGE_PREFIX, Dispatcher
from tests.integration.helpers import wait_for
from tests.integration.test_dispatch_staged import T0, request


@contextlib.contextmanager
def cutting_proxy(conn: redis.Redis, limit: int) -> Iterator[int]:
    """A TCP port that forwards one connection to ``conn``'s Redis and drops both sides
    once ``limit`` bytes of the client's requests went through; yields the port."""
    upstream = conn.connection_pool.connection_kwargs
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        client, _ = listener.accept()
        listener.close()  # the client's retries find no way in: the watcher is gone
        if "path" in upstream:
            server = socket.socket(socket.AF_UNIX)
            server.connect(upstream["path"])
        else:
            server = socket.create_connection((upstream["host"], upstream["port"]))
        back = threading.Thread(target=_pipe, args=(server, client, None), daemon=True)
        back.start()
        _pipe(client, server, limit)
        for end in (server, client):  # shutdown: close alone would not wake the other thread
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(timeout=5)


def _pipe(src: socket.socket, dst: socket.socket, limit: int | None) -> None:
    sent = 0
    with contextlib.suppress(OSError):
        while limit is None or sent < limit:
            chunk = src.recv(65536 if limit is None else min(65536, limit - sent))
            if not chunk:
                return
            dst.sendall(chunk)
            sent += len(chunk)


def _staged_ids(conn: redis.Redis) -> set[bytes]:
    return {key[len(STAGE_PREFIX) :] for key in conn.keys(f"{STAGE_PREFIX}*")}


def _listed_ids(conn: redis.Redis) -> set[bytes]:
    ids: set[bytes] = set()
    for key in conn.zrange(BURST_INDEX, 0, -1):
        ids.update(conn.lrange(key, 0, -1)[::4])
    return ids


@pytest.mark.parametrize("limit", [400, 1500, 3000, 6000, 9000, 12000, 16000])
def test_every_staged_copy_is_listed_in_an_indexed_burst_whatever_reached_redis(
    redis_conn: redis.Redis, limit: int
) -> None:
    name = f"cut-{limit}"
    with cutting_proxy(redis_conn, limit) as port:
        db = redis_conn.connection_pool.connection_kwargs.get("db", 0)
        cut = redis.Redis(
            host="127.0.0.1",
            port=port,
            db=db,
            client_name=name,
            socket_timeout=10,
            retry=Retry(NoBackoff(), 0),  # cut once is enough: no reconnecting
        )
        with pytest.raises(redis.ConnectionError):
            Dispatcher(cut, owner="w").stage_burst([request(f"job{n}", T0) for n in range(20)])
    # Once Redis has let the client go, it has run every command it received whole.
    wait_for(
        lambda: all(c.get("name") != name for c in redis_conn.client_list()),
        message=f"Redis to drop the client cut after {limit} bytes",
    )
    assert _staged_ids(redis_conn) <= _listed_ids(redis_conn)
