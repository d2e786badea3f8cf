"""The click commands, each module owning one command family; ``cli/app.py`` registers them.

Modules here import only click at import time (heavy imports inside the command bodies),
so registering them keeps `scheduler next` fast. None imports ``app.py``: what they share
is in ``cli/context.py`` and ``cli/options.py``.
"""
