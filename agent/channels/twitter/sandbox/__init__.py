"""A local X API v2 sandbox: the endpoints the loop uses, real error shapes, injectable faults."""

from agent.channels.twitter.sandbox.app import create_app
from agent.channels.twitter.sandbox.server import SandboxServer
from agent.channels.twitter.sandbox.state import SANDBOX_CREDENTIALS, Faults, SandboxState

__all__ = ["SANDBOX_CREDENTIALS", "Faults", "SandboxServer", "SandboxState", "create_app"]
