"""Click commands that live outside cli.py, each module owning one command family.

Modules here import only click at import time (heavy imports inside the command bodies),
so registering them keeps `scheduler next` fast.
"""
