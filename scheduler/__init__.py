"""A declarative, config-as-code job scheduler.

Jobs are YAML files in ``jobs.d/``; the watcher dispatches them into RQ on Redis.
The pure core (models, schedule arithmetic, diffing) lives beside thin adapters
(YAML loader, CLI), and never reads a clock of its own.
"""

__version__ = "0.1.0"
