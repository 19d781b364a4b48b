"""The Twitter (X) channel: a Tweepy mention loop, its inbox/outbox tables and a local sandbox."""
