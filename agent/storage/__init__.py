"""Persistence: engine and sessions, the conversation and review tables, migrations."""
