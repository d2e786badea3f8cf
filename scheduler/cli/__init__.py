"""The ``scheduler`` command (the console script ``scheduler.cli:main``)."""

from scheduler.cli.app import cli, main

__all__ = ["cli", "main"]
