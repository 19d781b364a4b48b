from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.core.script import DialogueScript, ScriptError, load_script, variant_warnings
from generator.persona import Persona

INTENTS = {"greet", "affirm", "help", "stop", "start", "out_of_scope"}

VALID = """\
initial: idle
slots:
  topic: {entity: ai_topic}
states:
  idle:
    replies: ["Hi!"]
  asked:
    replies: ["Tell me about {topic}."]
transitions:
  - trigger: greet
    source: idle
    dest: asked
  - trigger: affirm
    source: asked
    dest: idle
    conditions: has_topic
    replies: ["Great, {topic}!"]
global_intents:
  help: {replies: ["Say hi."]}
  stop: {opt_out: true, replies: ["Bye."]}
  start: {opt_in: true, reset: true, replies: ["Welcome back."]}
fallback:
  replies: ["Hmm.", "Sorry?"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dialogue.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_shipped_script_is_valid(script: DialogueScript) -> None:
    assert script.initial == "idle"
    assert {"greet", "help", "stop", "start", "restart"} <= script.triggers


def test_valid_minimal_script(tmp_path: Path) -> None:
    script = load_script(write(tmp_path, VALID), INTENTS)
    assert script.states == ["idle", "asked"]
    assert script.transition("global:start").reset


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("dest: asked\n", "dest: nowhere\n", 12, "unknown destination state 'nowhere'"),
        ("source: asked\n", "source: limbo\n", 14, "unknown source state 'limbo'"),
        ("trigger: greet", "trigger: wave", 10, "trigger 'wave' is not an intent"),
        ('"Great, {topic}!"', '"Great, {mood}!"', 17, "names unknown slot '{mood}'"),
        ("conditions: has_topic", "conditions: is_happy", 16, "condition 'is_happy' must be"),
        ("trigger: affirm", "trigger: out_of_scope", 13, "'out_of_scope' cannot be a trigger"),
        ("dest: asked\n", "dest: idle\n", 7, "state 'asked' cannot be reached"),
        ("start: {opt_in: true,", "start: {", 18, "exactly one global intent needs 'opt_in: true'"),
        ("trigger: greet", "trigger: help", 10, "'help' is a global intent"),
        ("initial: idle", "initial: idle\ncolour: blue", 2, "unknown key 'colour'"),
        ('"Tell me about {topic}."', '"Tell me about {topic."', 7, "is malformed"),
        ("conditions: has_topic", "conditions: mentions_mood", 16, "mentions_<slot> for an"),
        ('["Hmm.", "Sorry?"]', '["Hmm.", "Hmm."]', 22, "at least two different lines"),
        ('["Hmm.", "Sorry?"]', '["Hmm.", "{topic}?"]', 22, "at least two different lines"),
        ("slots:\n", "slots:\n  fact: {lookup: topic}\n", 3, "a lookup needs 'values"),
        ("slots:\n", "slots:\n  fact: {lookup: nope, values: {a: b}}\n", 3, "lookup 'nope'"),
        ("slots:\n", "slots:\n  fact: {lookup: topic, values: [a]}\n", 3, "'values' must map"),
    ],
)
def test_problems_are_located(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(ScriptError) as error:
        load_script(path, INTENTS)
    found = [p for p in error.value.problems if message in p.message]
    assert found, f"no problem mentioning {message!r} in {error.value}"
    assert found[0].line == line
    assert found[0].file == str(path)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, "initial: idle\nstates: [unclosed\n")
    with pytest.raises(ScriptError) as error:
        load_script(path)
    assert error.value.problems[0].line == 3
    assert "invalid YAML" in str(error.value)


def test_missing_file_and_keys(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="cannot read the file"):
        load_script(tmp_path / "absent.yml")
    with pytest.raises(ScriptError, match="missing required key 'transitions'"):
        load_script(write(tmp_path, "initial: idle\nstates: {idle: }\n"))


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    broken = VALID.replace("dest: asked\n", "dest: nowhere\n").replace("greet", "wave")
    with pytest.raises(ScriptError) as error:
        load_script(write(tmp_path, broken), INTENTS)
    assert len(error.value.problems) >= 3


def test_lookup_slots_and_mentions_guards(tmp_path: Path) -> None:
    text = VALID.replace(
        "slots:\n", "slots:\n  fact: {lookup: topic, values: {ml: Learning from data.}}\n"
    ).replace("conditions: has_topic", "conditions: [mentions_topic, has_fact]")
    script = load_script(write(tmp_path, text), INTENTS)
    assert script.with_lookups({"topic": "ml"}) == {"topic": "ml", "fact": "Learning from data."}
    assert script.with_lookups({"topic": "vr"})["fact"] == ""  # no text: has_fact is false
    assert script.mentioned({"ai_topic", "city"}) == {"topic"}


def test_name_is_a_built_in_slot_and_cannot_be_declared(tmp_path: Path) -> None:
    personal = VALID.replace('"Great, {topic}!"', '"Great, {topic}, {name}!"')
    assert load_script(write(tmp_path, personal), INTENTS).transition("t1").replies == (
        "Great, {topic}, {name}!",
    )
    declared = VALID.replace("slots:\n", "slots:\n  name: {entity: person}\n")
    with pytest.raises(ScriptError, match="'name' is built in") as error:
        load_script(write(tmp_path, declared), INTENTS)
    assert error.value.problems[0].line == 3


STANCE_BRANCH = """\
  - trigger: affirm
    source: asked
    dest: idle
    conditions: [has_topic, stance_is_against]
    replies: ["Fair doubts about {topic}."]
"""


def test_value_guards_branch_on_a_slot_and_the_message_stance(tmp_path: Path) -> None:
    text = VALID.replace("transitions:\n", "transitions:\n" + STANCE_BRANCH).replace(
        "slots:\n",
        "slots:\n  mood: {intents: {affirm: happy, greet: glad}}\n  my_topic: {entity: x}\n",
    )
    text = text.replace("conditions: has_topic\n", "conditions: [has_topic, mood_is_happy]\n")
    script = load_script(write(tmp_path, text), INTENTS)
    assert script.value_guards == {
        "stance_is_against": ("stance", "against"),
        "mood_is_happy": ("mood", "happy"),
    }


@pytest.mark.parametrize(
    ("guard", "message"),
    [
        ("stance_is_maybe", "slot 'stance' is never 'maybe' (its values: against, favor, none)"),
        ("mood_is_sad", "slot 'mood' is never 'sad' (its values: glad, happy)"),
        ("colour_is_red", "or <slot>_is_<value> (a declared slot, or 'stance' with"),
        ("stance_is_", "condition 'stance_is_' must be"),
    ],
)
def test_value_guard_problems_name_the_values(tmp_path: Path, guard: str, message: str) -> None:
    text = VALID.replace("slots:\n", "slots:\n  mood: {intents: {affirm: happy, greet: glad}}\n")
    text = text.replace("conditions: has_topic", f"conditions: {guard}")
    with pytest.raises(ScriptError) as error:
        load_script(write(tmp_path, text), INTENTS)
    found = [p for p in error.value.problems if message in p.message]
    assert found and found[0].line == 17, str(error.value)


def test_stance_is_built_in_and_the_persona_takes_a_side(tmp_path: Path) -> None:
    declared = VALID.replace("slots:\n", "slots:\n  stance: {entity: view}\n")
    with pytest.raises(ScriptError, match="'stance' is built in \\(the message's stance\\)"):
        load_script(write(tmp_path, declared), INTENTS)
    script = load_script(write(tmp_path, VALID + "persona:\n  stance: favor\n"), INTENTS)
    assert script.persona == Persona("bot", (), "favor")
    with pytest.raises(ScriptError, match="persona stance must be one of favor, against, none"):
        load_script(write(tmp_path, VALID + "persona:\n  stance: pro\n"), INTENTS)


def test_busy_transitions_with_few_variants_are_warned_about(tmp_path: Path) -> None:
    script = load_script(write(tmp_path, VALID), INTENTS)
    warnings = variant_warnings(script, minimum=2)
    # greet fires from the initial state (its replies are its destination's), the globals
    # from any state; affirm only from 'asked', so it is not busy.
    assert sorted(w.message.split("'")[1] for w in warnings) == ["greet", "help", "start", "stop"]
    assert all(w.severity == "warning" and "1 reply variant" in w.message for w in warnings)
    assert {w.line for w in warnings if "greet" in w.message} == {10}
    assert variant_warnings(script, minimum=1) == []


def test_persona_and_acknowledgements_are_read(tmp_path: Path) -> None:
    default = load_script(write(tmp_path, VALID), INTENTS)
    assert default.persona == Persona("bot") and default.acknowledgements == {}
    text = VALID + (
        "persona:\n  kind: human\n  also_refuse: ['\\bmy owner\\b']\n"
        "acknowledgements:\n  plan: ['Good luck with {phrase}!', 'Good luck!']\n"
    )
    script = load_script(write(tmp_path, text), INTENTS)
    assert script.persona == Persona("human", (r"\bmy owner\b",))
    assert script.acknowledgements == {"plan": ("Good luck with {phrase}!", "Good luck!")}


ACKS = "acknowledgements:\n  plan:\n    - 'Good luck with {phrase}!'\n    - 'Good luck!'\n"


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("persona:\n  kind: robot\n", 25, "persona kind must be one of bot, human, not 'robot'"),
        ("persona:\n  kind: bot\n  also_refuse: ['(unclosed']\n", 26, "is not a regex"),
        ("persona:\n  also_refuse:\n    - ok\n    - '[z-a]'\n", 27, "'[z-a]' is not a regex"),
        ("persona:\n  kind: bot\n  tone: warm\n", 26, "unknown key 'tone' in 'persona'"),
        ("persona: bot\n", 24, "'persona' must be a mapping"),
        (ACKS.replace("plan:", "gossip:"), 25, "unknown dialogue act or side 'gossip'"),
        (ACKS.replace("{phrase}", "{topic}"), 26, "names unknown slot '{topic}'"),
        (ACKS.replace("{phrase}", "{phrase"), 26, "is malformed"),
        (ACKS.replace("'Good luck!'", "'Luck with {phrase}'"), 25, "needs a template without"),
        ("acknowledgements:\n  plan: []\n", 25, "acknowledgements 'plan' is empty"),
        ("acknowledgements:\n  plan:\n", 25, "acknowledgements 'plan' is empty"),
        ("acknowledgements:\n  plan: [1, 2]\n", 25, "must be a string or a list of strings"),
        ("acknowledgements: [hi]\n", 24, "must map dialogue acts"),
    ],
)
def test_persona_and_acknowledgement_problems_are_located(
    tmp_path: Path, extra: str, line: int, message: str
) -> None:
    path = write(tmp_path, VALID + extra)
    with pytest.raises(ScriptError) as error:
        load_script(path, INTENTS)
    found = [p for p in error.value.problems if message in p.message]
    assert found, f"no problem mentioning {message!r} in {error.value}"
    assert (found[0].file, found[0].line) == (str(path), line)


FOLLOW_UPS = """\
follow_ups:
  subject: topic
  replies:
    example: ["For example: {answer}", "Here's one. {answer}"]
    why: ["{answer}"]
  unbound: ["Which topic do you mean?"]
  answers:
    ml:
      example: "Spam filters."
      why: "Rules are hard to write."
    greet:
      why: "Manners."
"""
WITH_FACT = VALID.replace("slots:\n", "slots:\n  fact: {lookup: topic, values: {ml: Data.}}\n")


def test_follow_ups_are_read(tmp_path: Path) -> None:
    script = load_script(write(tmp_path, WITH_FACT + FOLLOW_UPS), INTENTS)
    follow = script.follow_ups
    assert follow is not None and follow.subject == "topic"
    assert follow.answer("ml", "example") == "Spam filters."
    assert follow.answer("ml", "more") is None and follow.answer(None, "why") is None
    assert follow.replies["example"] == ("For example: {answer}", "Here's one. {answer}")
    assert follow.unbound == ("Which topic do you mean?",)
    assert follow.intents == {"greet"}  # an intent's answers may be any few kinds
    assert load_script(write(tmp_path, VALID), INTENTS).follow_ups is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '      why: "Rules are hard to write."\n',
            "",
            "follow-up answers for 'ml' are missing: why",
        ),
        ("{ml: Data.}", "{ml: Data., vr: Headsets.}", "'vr' has a 'fact' but no follow-up answers"),
        (
            '    why: ["{answer}"]\n',
            '    why: ["{answer}"]\n    when: ["{answer}"]\n',
            "unknown follow-up kind 'when'",
        ),
        ("  subject: topic\n", "  subject: fact\n", "subject 'fact' must be an entity slot"),
        ('{answer}"]\n', '{topic}"]\n', "names unknown slot '{topic}'"),
        ('  unbound: ["Which topic do you mean?"]\n', "", "'follow_ups' is missing 'unbound'"),
        ("    greet:\n", "    wave:\n", "follow-up answers for 'wave' are missing: example"),
        (
            '      example: "Spam filters."\n',
            '      example: "Spam filters."\n      more: "Lots."\n',
            "no framing in follow_ups.replies: more",
        ),
    ],
)
def test_follow_up_problems_are_reported(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = WITH_FACT + FOLLOW_UPS
    assert old in text
    with pytest.raises(ScriptError) as error:
        load_script(write(tmp_path, text.replace(old, new, 1)), INTENTS)
    assert any(message in p.message for p in error.value.problems), str(error.value)


def test_validate_lists_every_topic_missing_follow_ups(tmp_path: Path) -> None:
    text = WITH_FACT.replace("{ml: Data.}", "{ml: Data., vr: Headsets., ar: Overlays.}")
    with pytest.raises(ScriptError) as error:
        load_script(write(tmp_path, text + FOLLOW_UPS), INTENTS)
    missing = sorted(p.message.split("'")[1] for p in error.value.problems)
    assert missing == ["ar", "vr"]


def test_acknowledgements_take_the_sides_a_message_argues(tmp_path: Path) -> None:
    sides = "acknowledgements:\n  against:\n    - 'Fair worry.'\n  favor:\n    - 'Agreed!'\n"
    script = load_script(write(tmp_path, VALID + sides))
    assert script.acknowledgements == {"against": ("Fair worry.",), "favor": ("Agreed!",)}
    with pytest.raises(ScriptError, match="unknown dialogue act or side 'none'"):
        load_script(write(tmp_path, VALID + sides.replace("favor:", "none:")))
