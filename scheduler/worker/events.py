"""The results stream: run events published to Redis, read back by every watcher's store.

One Redis stream (``STREAM``) carries every ``RunEvent``: the workers' reports, one stream
entry each (the event's fields), and the ledger entries the leading watcher records
(enqueued, skipped, missed, ...), so that the records of every data dir are built from the
same entries. A watcher sends what one step recorded (up to ``BATCH`` runs of a burst) as
one stream entry: field ``entries``, a JSON list of the events' fields, and ``origin``, the
watcher process that sent it; a 1,000-run burst costs one XADD.

Readers use a consumer group, so an event stays in the stream, waiting for the group, while
no reader runs: a watcher that was down reads what it missed when it comes back. An event
leaves the group's pending list only when the reader acknowledges it, so a reader that
crashes between reading and recording gets the same events again (``read`` first
re-delivers this consumer's pending entries), and ``claim_stale`` takes over what a dead
consumer left behind.

Malformed entries (fields ``RunEvent.from_fields`` rejects, or an entry trimmed from the
stream while still pending; within a batch, each event that fails) are never returned:
they are logged as ``run_event_malformed`` with their id and fields, and acknowledged at
once, so one bad entry cannot block the stream. ``XRANGE`` still shows them until the
stream is trimmed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis
import structlog
from redis.typing import EncodableT, FieldT

from scheduler.core.runs import RunEvent

STREAM = "scheduler:events"
#: About how many entries the stream keeps (older ones are trimmed as new ones come).
MAXLEN = 100_000
#: Ledger entries sent as one stream entry, at most.
BATCH = 1000

_CLAIM_PAGE = 500


def publish(conn: redis.Redis, event: RunEvent, *, maxlen: int = MAXLEN) -> str:
    """Append ``event`` to the stream and return its entry id (``"<ms>-<seq>"``).

    The stream is trimmed to about ``maxlen`` entries (approximate ``MAXLEN ~``, which
    Redis does cheaply, whole nodes at a time); entries a reader never acknowledged are
    trimmed like any other, so ``maxlen`` bounds how far a stopped watcher can fall behind.
    """
    fields: dict[FieldT, EncodableT] = dict(event.to_fields().items())
    entry_id = conn.xadd(STREAM, fields, maxlen=maxlen, approximate=True)
    return _text(entry_id)


def publish_many(
    conn: redis.Redis, events: Sequence[RunEvent], *, origin: str, maxlen: int = MAXLEN
) -> int:
    """Append ``events`` in this order, ``BATCH`` to a stream entry, in one round trip,
    marked with ``origin`` (the publishing watcher process); returns how many stream
    entries were added.

    One entry per event would cost a 1,000-run burst about 20 ms of packing commands
    (measured); as a JSON list it costs about 2. Raises redis.RedisError if Redis fails:
    some of them may be on the stream then, and sending them again is harmless (applying
    an entry twice changes nothing).
    """
    if not events:
        return 0
    pipe = conn.pipeline(transaction=False)
    chunks = range(0, len(events), BATCH)
    for start in chunks:
        body = [event.to_fields() for event in events[start : start + BATCH]]
        fields: dict[FieldT, EncodableT] = {
            "entries": json.dumps(body, separators=(",", ":")),
            "origin": origin,
        }
        pipe.xadd(STREAM, fields, maxlen=maxlen, approximate=True)
    pipe.execute()
    return len(chunks)


class EventReader:
    """One consumer of the results stream within a consumer group.

    ``group`` names the reading application (the watcher); ``consumer`` names this
    process within it and should be stable across restarts (a host name, say) so that a
    restarted reader re-reads its own unacknowledged entries.
    """

    def __init__(self, conn: redis.Redis, *, group: str, consumer: str) -> None:
        self._conn = conn
        self.group = group
        self.consumer = consumer
        # Where re-delivery of our own pending entries has got to; None once it is done
        # and reads ask only for new entries.
        self._pending_cursor: str | None = "0"
        self._claim_cursor = "0-0"

    def ensure_group(self) -> None:
        """Create the group (and the stream) if missing, reading from the stream's start.

        A group created after events were published still reads them. Calling it when the
        group exists does nothing.
        """
        try:
            self._conn.xgroup_create(STREAM, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(
        self, *, block_ms: int | None, count: int = 500, via: redis.Redis | None = None
    ) -> list[tuple[str, RunEvent]]:
        """Up to ``count`` events as ``(entry id, event)``, oldest first; acknowledge with ``ack``.

        The first calls on a new reader return this consumer's pending entries (delivered
        before, never acknowledged: a crash between read and ack), without waiting. Once
        those are exhausted, it returns new entries, waiting up to ``block_ms``
        milliseconds for one to arrive: ``None`` returns at once, ``0`` waits forever
        (the connection's ``socket_timeout`` must then be longer, or unset). An empty list
        means nothing arrived in time. Creates the group if it (or the stream) is gone.
        ``via``: the client the wait for new entries runs on (else the reader's), so that
        a waiting read can be told apart from the others and cut short (``CLIENT UNBLOCK``).
        """
        while self._pending_cursor is not None:
            entries = self._read_group(self._pending_cursor, count=count, block_ms=None)
            if not entries:
                self._pending_cursor = None
                break
            self._pending_cursor = entries[-1][0]
            events = self._parse(entries)
            if events:
                return events
        return self._parse(self._read_group(">", count=count, block_ms=block_ms, conn=via))

    def ack(self, ids: Iterable[str]) -> int:
        """Acknowledge entries so they leave the pending list; returns how many were pending."""
        todo = list(dict.fromkeys(ids))  # a batch's events share their entry's id
        if not todo:
            return 0
        return self._conn.xack(STREAM, self.group, *todo)

    def claim_stale(self, min_idle_ms: int) -> list[tuple[str, RunEvent]]:
        """Take over entries pending for at least ``min_idle_ms`` ms with any consumer.

        Meant for entries a dead consumer read and never acknowledged; they become this
        consumer's pending entries until acknowledged. A call sweeps the group's pending
        list from where the last call stopped and returns once it holds about 500 events
        or has reached the end of the list (the next call starts over). Claiming resets an
        entry's idle time, so it is not claimed again before it is idle again. Entries
        trimmed from the stream while pending are dropped by Redis and logged as
        ``run_events_lost``.
        """
        claimed: list[tuple[str, RunEvent]] = []
        while len(claimed) < _CLAIM_PAGE:
            reply = self._with_group(
                lambda: self._conn.xautoclaim(
                    STREAM,
                    self.group,
                    self.consumer,
                    min_idle_ms,
                    start_id=self._claim_cursor,
                    count=_CLAIM_PAGE,
                )
            )
            self._claim_cursor = _text(reply[0])
            claimed.extend(self._parse(_stream_entries(reply[1])))
            if len(reply) > 2 and reply[2]:
                self._warn("run_events_lost", entry_ids=[_text(i) for i in reply[2]])
            if self._claim_cursor == "0-0":
                break
        return claimed

    def _read_group(
        self, start: str, *, count: int, block_ms: int | None, conn: redis.Redis | None = None
    ) -> list[tuple[str, dict[str, str] | None]]:
        client = self._conn if conn is None else conn
        reply = self._with_group(
            lambda: client.xreadgroup(
                self.group, self.consumer, {STREAM: start}, count=count, block=block_ms
            )
        )
        if isinstance(reply, dict):
            streams: Iterable[Any] = reply.values()
        else:
            streams = (item[1] for item in reply or [])
        entries: list[tuple[str, dict[str, str] | None]] = []
        for stream in streams:
            # RESP3 wraps each stream's entries in one more list.
            nested = bool(stream) and isinstance(stream[0], list)
            entries.extend(_stream_entries(stream[0] if nested else stream))
        return entries

    def _with_group(self, call: Callable[[], Any]) -> Any:
        """Run a group command; if the group or stream is gone (NOGROUP), recreate and retry."""
        try:
            return call()
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()
            return call()

    def _parse(
        self, entries: list[tuple[str, dict[str, str] | None]]
    ) -> list[tuple[str, RunEvent]]:
        events: list[tuple[str, RunEvent]] = []
        bad: list[str] = []
        for entry_id, fields in entries:
            if not fields:
                reason = "entry was trimmed from the stream before it was acknowledged"
            elif "entries" in fields:
                batch = self._parse_batch(entry_id, fields)
                events += batch
                if batch:
                    continue
                reason = "no valid event in the batch"
            else:
                try:
                    events.append((entry_id, RunEvent.from_fields(fields)))
                    continue
                except ValueError as exc:
                    reason = str(exc)
            self._warn("run_event_malformed", entry_id=entry_id, fields=fields, reason=reason)
            bad.append(entry_id)
        self.ack(bad)
        return events

    def _parse_batch(self, entry_id: str, fields: dict[str, str]) -> list[tuple[str, RunEvent]]:
        """The events of a batch entry; each that fails to parse is logged and left out."""
        origin = fields.get("origin", "")
        try:
            items = json.loads(fields["entries"])
        except ValueError as exc:
            self._warn("run_event_malformed", entry_id=entry_id, fields=fields, reason=str(exc))
            return []
        events: list[tuple[str, RunEvent]] = []
        for item in items if isinstance(items, list) else [items]:
            try:
                if not isinstance(item, dict):
                    raise ValueError(f"not an object: {item!r}")
                events.append((entry_id, RunEvent.from_fields({**item, "origin": origin})))
            except (ValueError, TypeError) as exc:
                self._warn("run_event_malformed", entry_id=entry_id, fields=item, reason=str(exc))
        return events

    def _warn(self, event: str, **fields: Any) -> None:
        structlog.get_logger().warning(
            event, stream=STREAM, group=self.group, consumer=self.consumer, **fields
        )


def _stream_entries(raw: Iterable[Any]) -> list[tuple[str, dict[str, str] | None]]:
    """``[(id, {field: value})]`` from redis-py's parsed entries, decoded to str."""
    out: list[tuple[str, dict[str, str] | None]] = []
    for entry_id, fields in raw:
        if entry_id is None:
            continue
        decoded = None if fields is None else {_text(k): _text(v) for k, v in fields.items()}
        out.append((_text(entry_id), decoded))
    return out


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a Redis string reply, got {type(value).__name__}")
