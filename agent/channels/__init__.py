"""Channels that carry conversations to and from the agent (the web chat lives in web/)."""
