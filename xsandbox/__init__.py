"""A local X API v2 sandbox: the endpoints the loop uses, real error shapes, injectable faults.

A fake server for `threadbot run` without X keys, `threadbot sandbox`, tests and benchmarks; it
sits outside ``agent`` so the bot's own code never imports it (tests/test_layers.py checks).
"""

from xsandbox.app import create_app
from xsandbox.server import SandboxServer
from xsandbox.state import Faults, SandboxState

__all__ = ["Faults", "SandboxServer", "SandboxState", "create_app"]
