"""bench/conversation.py's figures: the conversation files load, and the counts mean what the
report says (the claims in docs/benchmarks.md rest on them)."""

from __future__ import annotations

from bench.conversation import CONVERSATIONS, Exchange, figures, load_sets, mentions


def exchange(
    conversation: str, reply: str, kind: str = "everyday", about: tuple[str, ...] = ()
) -> Exchange:
    return Exchange(conversation, kind, "hi", "", about, reply, "scripted", None, 10.0)


def test_shipped_conversations_load_with_a_held_out_set() -> None:
    sets = load_sets(CONVERSATIONS)
    assert {"dev", "heldout"} <= set(sets)
    assert all(turn["kind"] for conv in sets["heldout"] for turn in conv["turns"])


def test_repeats_count_only_within_one_conversation() -> None:
    played = [exchange("a", "Hi!"), exchange("a", "Hi!"), exchange("b", "Hi!"), exchange("b", "Yo")]
    assert figures(played)["immediate_repeats"] == 1


def test_on_topic_counts_word_prefixes_of_the_topic() -> None:
    assert mentions("Self-driving cars use cameras", ("self-driving",))
    assert mentions("Jobs will change", ("job",))
    assert not mentions("A banjo is fun", ("job",))
    asked = [
        exchange("a", "Machine learning learns from data.", "ai_question", about=("machine",)),
        exchange("a", "That's cool!", "ai_question", about=("neural",)),
    ]
    assert figures(asked)["on_topic_rate"] == 0.5


def test_follow_ups_count_replies_that_name_the_threads_subject() -> None:
    played = [
        exchange("a", "Computer vision reads images.", "ai_question", about=("vision",)),
        exchange("a", "Phone cameras use it.", "follow_up", about=("camera", "vision")),
        exchange("b", "Nice!", "follow_up", about=("puppy", "name")),
    ]
    found = figures(played)
    assert (found["follow_ups"], found["follow_ups_on_subject"]) == (2, 0.5)
    assert figures(played[:1])["follow_ups_on_subject"] is None  # no follow-ups: no figure
    followups = load_sets(CONVERSATIONS)["followups"]
    later = [t for conv in followups for t in conv["turns"][1:]]
    assert len(followups) >= 40 and all(t["kind"] == "follow_up" and t["about"] for t in later)
