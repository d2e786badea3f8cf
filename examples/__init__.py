"""Example tasks for the jobs shipped in jobs.d/ (importable as ``examples.bots``)."""
