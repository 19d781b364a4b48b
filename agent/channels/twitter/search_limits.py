"""X's limits on reading: recent search (which the collector respects) and the mentions
timeline's cap; the sandbox enforces both."""

from datetime import UTC, datetime

# Basic and Pro tiers: queries of up to 512 characters, posts of the last seven days (older
# posts need the full-archive search).
MAX_QUERY_CHARS = 512
RECENT_SEARCH_DAYS = 7
# The mentions timeline returns only the 800 most recent mentions: after a longer outage the
# older ones are reachable through recent search alone (loop.py fills the gap).
TIMELINE_CAP = 800
# X's snowflake ids carry their creation time: milliseconds since this epoch, above bit 22.
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657


def snowflake_time(tweet_id: int) -> datetime:
    """When a tweet with this id was created."""
    return datetime.fromtimestamp(((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)
