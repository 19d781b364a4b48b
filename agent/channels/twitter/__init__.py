"""The Twitter (X) channel: a Tweepy mention loop and its inbox/outbox tables (the fake X API
for development and tests is the separate xsandbox package)."""
