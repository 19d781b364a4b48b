"""``python -m agent`` runs the ``threadbot`` command line (used by ``threadbot run``)."""

from agent.cli import cli

cli()
