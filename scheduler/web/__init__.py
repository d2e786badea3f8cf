"""The operator's view: ``scheduler web``, its pages, JSON API and ``/metrics`` (issue 12).

Its own process (``python -m scheduler.web``), so it can never delay dispatch; it reads the
records read-only and Redis, and acts only through ``scheduler.engine.actions``.
"""
