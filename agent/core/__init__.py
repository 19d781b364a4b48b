"""Dialogue core: the script, state machine, replies, message checks and the turn pipeline."""
