"""X's recent-search limits, which the collector respects and the sandbox enforces."""

# Basic and Pro tiers: queries of up to 512 characters, posts of the last seven days (older
# posts need the full-archive search).
MAX_QUERY_CHARS = 512
RECENT_SEARCH_DAYS = 7
