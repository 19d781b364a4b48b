"""The threadbot runtime: dialogue script, state machine, turn pipeline, persistence, channels."""
