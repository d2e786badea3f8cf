"""The jobs folder's file events: watchdog only *requests* a reload (STYLE example 9).

The handler puts each changed job file (or ``None``: rescan everything, after a folder
moved) on the loop's queue with the time it was seen, and sets the loop's wake event;
parsing and rescheduling happen on the loop thread.
"""

from __future__ import annotations

import os
import queue
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from scheduler.config.defaults import is_defaults_file
from scheduler.config.jobfiles import is_job_file
from scheduler.core.clock import Clock


def start_observer(
    jobs_dir: Path,
    paths: queue.SimpleQueue[tuple[Path | None, datetime]],
    wake: threading.Event,
    clock: Clock,
) -> Any:
    """A started watchdog observer on ``jobs_dir`` (recursive) feeding ``paths``."""
    from watchdog import events
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type in ("opened", "closed_no_write"):
                return
            seen = clock.now()
            if event.is_directory and event.event_type != "modified":
                paths.put((None, seen))  # a folder moved or removed: rescan everything
                wake.set()
                return
            touched = [event.src_path, getattr(event, "dest_path", "")]
            hits = [Path(os.fsdecode(p)) for p in touched if p]
            if any(is_defaults_file(p.name) for p in hits):
                paths.put((None, seen))  # defaults apply to many files: rescan them all
                wake.set()
                return
            hits = [p for p in hits if is_job_file(p)]
            for p in hits:
                paths.put((p, seen))
            if hits:
                wake.set()

    observer = Observer()
    # Changes only: without a filter inotify also reports every open and close, and the
    # start-up (which reads every job file) fed watchdog's threads two events a file,
    # contending for the GIL with the load itself.
    changes = [
        events.FileCreatedEvent,
        events.FileDeletedEvent,
        events.FileModifiedEvent,
        events.FileMovedEvent,
        events.FileClosedEvent,
        events.DirCreatedEvent,
        events.DirDeletedEvent,
        events.DirModifiedEvent,
        events.DirMovedEvent,
    ]
    observer.schedule(Handler(), str(jobs_dir), recursive=True, event_filter=changes)
    observer.daemon = True
    observer.start()
    return observer
