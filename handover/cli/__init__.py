"""The command line (`handover ...`), the demo and the terminal tables: the one room of
handover/ that may import flows, tasks, emulators and prefect (tests/unit/test_layers.py).

``main`` is the console script (``handover = "handover.cli:main"``); the commands live
in ``app``."""

from .app import main

__all__ = ["main"]
