"""``python -m generator ...``: the same commands as ``threadbot generator ...``."""

from generator.cli import generator

generator()
