"""Hostile text for the property-based fuzz tests, and the settings that keep them quick."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Pieces attackers and broken clients send: lone surrogates, NUL, bidi and zero-width
# characters, markup, template syntax, formulas, digits int() refuses, huge numbers, wildcards.
NASTY = [
    "\ud800", "\udfff", "\x00", "\x1b[31m", "\r\n", "\u202e", "\u202a", "\u2066", "\u2069",
    "\u200b", "\u200d", "\ufeff", "\u00ad", "\u3164", "\U000e0041", "\U0001f468\u200d\U0001f469",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}",
    '=HYPERLINK("http://evil")', "@SUM(1)", "\u00b2", "\u0661\u0662", "9" * 40, "-1", "%_\\",
    "'; DROP TABLE turns; --", "//evil.example", "\u0645\u0631\u062d\u0628\u0627", "a" * 300,
]  # fmt: skip
HOSTILE = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=6)), max_size=5).map("".join)
FUZZ = settings(
    max_examples=20,
    derandomize=True,  # the same examples on every run and machine
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
