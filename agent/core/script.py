"""The dialogue script (``dialogue.yml``): load it into typed specs and report every problem.

Format: docs/dialogue.md. Each problem carries file, line and a plain message, so a user can fix
the whole file in one pass instead of one error per run.
"""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from generator.persona import Persona
from nlu.acts import ACTS
from nlu.errors import Problem
from nlu.followups import KINDS
from nlu.stance_data import SIDES, STANCES
from nlu.yamlnodes import LineDict, LineList, compose, with_lines

TOP_LEVEL_KEYS = {
    "name", "topic", "initial", "session_timeout_minutes", "slots", "states", "transitions",
    "global_intents", "fallback", "persona", "acknowledgements", "follow_ups",
}  # fmt: skip
FOLLOW_UP_KEYS = {"subject", "replies", "unbound", "answers"}
TRANSITION_KEYS = {"trigger", "source", "dest", "conditions", "unless", "replies"}
GLOBAL_KEYS = {"replies", "dest", "reset", "opt_out", "opt_in"}
# The out-of-scope class means "none of the above": it can never be a scripted trigger.
OUT_OF_SCOPE = "out_of_scope"
# A built-in slot: the person's display name or handle, filled by the channel (docs/dialogue.md).
NAME_SLOT = "name"
# A built-in slot of each message: the side it takes toward the bot's topic (favor, against,
# none; none also when the NLU is unsure or has no stance model), for ``stance_is_<side>``
# guards. Not stored with the conversation: the next message has its own.
STANCE_SLOT = "stance"
BUILT_IN_SLOTS = (NAME_SLOT, STANCE_SLOT)
# The value guard: ``<slot>_is_<value>`` holds when the slot's value is exactly ``value``.
IS = "_is_"
# The one slot of an acknowledgement: the message's key phrase, said back (nlu/acts.py).
PHRASE_SLOT = "phrase"
# Acknowledgements of a follow-up question on an everyday subject ("any tips?" after "I have
# an exam tomorrow"): not a dialogue act of the message but of the thread; {phrase} is the
# subject.
FOLLOW_UP_ACT = "follow_up"
# The one slot a follow-up framing adds: the subject's answer for the kind asked.
ANSWER_SLOT = "answer"


class ScriptError(ValueError):
    """The script cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def is_filled(value: Any) -> bool:
    """Whether a slot holds a value: the one meaning of ``has_<slot>`` guards, of the slots
    the state machine keys its steps by, and of the templates a reply may use."""
    return value not in (None, "")


@dataclass(frozen=True)
class SlotSpec:
    """Where a slot's value comes from: an entity label, a mapping of intents to values, or a
    lookup: the text ``values`` gives for another slot's current value (an FAQ answer per topic).
    """

    name: str
    entity: str | None = None
    intents: dict[str, str] = field(default_factory=dict)
    lookup: str | None = None
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowUps:
    """What the script answers when a message follows up on the thread's subject.

    ``subject``: the entity slot whose value a follow-up is about (Ada: ``topic``);
    ``answers``: per value of it, a text per kind of :data:`nlu.followups.KINDS`, and per
    intent the script answers, the kinds that make sense after that answer ("why not?" after
    "can AI have feelings?"): a scripted answer to such an intent becomes the subject;
    ``replies``: per kind, the framings ``{answer}`` goes into; ``unbound``: the question
    back when a follow-up has nothing to be about (the thread never had a subject).
    """

    subject: str
    answers: dict[str, dict[str, str]]
    replies: dict[str, tuple[str, ...]]
    unbound: tuple[str, ...]
    intents: frozenset[str] = frozenset()  # the keys of ``answers`` that are intents

    def answer(self, subject: str | None, kind: str | None) -> str | None:
        """The script's text for ``kind`` of ``subject``, or None."""
        return self.answers.get(subject or "", {}).get(kind or "")


@dataclass(frozen=True)
class TransitionSpec:
    """A scripted move: ``trigger`` (an intent) from ``sources`` to ``dest`` under guards."""

    key: str
    trigger: str
    sources: tuple[str, ...]
    dest: str | None
    replies: tuple[str, ...]
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    reset: bool = False
    opt_out: bool = False
    opt_in: bool = False
    # Where each field sits in the file, so a problem points at the exact line.
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def line_of(self, name: str) -> int:
        return self.lines.get(name, self.lines.get("trigger", 1))


@dataclass(frozen=True)
class DialogueScript:
    """A validated script, ready to build the machine from."""

    path: Path
    name: str
    topic: str | None
    initial: str
    session_timeout_minutes: float
    slots: dict[str, SlotSpec]
    state_replies: dict[str, tuple[str, ...]]
    transitions: tuple[TransitionSpec, ...]
    fallback_replies: tuple[str, ...]
    persona: Persona
    # Templates per dialogue act, for the fallback's grounded candidates (agent/core/grounded.py).
    acknowledgements: dict[str, tuple[str, ...]]
    follow_ups: FollowUps | None = None

    @property
    def states(self) -> list[str]:
        return list(self.state_replies)

    @property
    def triggers(self) -> set[str]:
        return {t.trigger for t in self.transitions}

    def transition(self, key: str) -> TransitionSpec:
        return next(t for t in self.transitions if t.key == key)

    def with_lookups(self, slots: dict[str, Any]) -> dict[str, Any]:
        """``slots`` plus every lookup slot's text for its source's value (not stored: derived)."""
        view = dict(slots)
        for slot in self.slots.values():
            if slot.lookup is not None:
                view[slot.name] = slot.values.get(str(slots.get(slot.lookup)), "")
        return view

    def mentioned(self, labels: set[str]) -> frozenset[str]:
        """The entity slots a message with entities of ``labels`` fills: ``mentions_<slot>``."""
        return frozenset(s.name for s in self.slots.values() if s.entity in labels)

    @cached_property
    def value_guards(self) -> dict[str, tuple[str, str]]:
        """Every ``<slot>_is_<value>`` guard the transitions use: guard -> (slot, value)."""
        names = [*self.slots, *BUILT_IN_SLOTS]
        found = {}
        for t in self.transitions:
            for guard in (*t.conditions, *t.unless):
                parsed = value_guard(guard, names)
                if parsed is not None:
                    found[guard] = parsed
        return found


def value_guard(guard: str, slots: Iterable[str]) -> tuple[str, str] | None:
    """``(slot, value)`` of a ``<slot>_is_<value>`` guard over one of ``slots``, else None.

    Slot names may hold underscores, so the guard is matched against the declared names
    rather than split: the longest name that fits wins."""
    for slot in sorted(slots, key=len, reverse=True):
        value = guard.removeprefix(f"{slot}{IS}")
        if value != guard and value:
            return slot, value
    return None


def template_fields(template: str) -> set[str]:
    """The ``{slot}`` names a reply template uses; raises ValueError on broken braces."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _Reader:
    """Walks the YAML tree, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(str(self.path), line, message))

    def strings(self, value: Any, line: int, what: str) -> tuple[str, ...]:
        """A string or a list of strings; anything else is a problem."""
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.problem(line, f"{what} must be a string or a list of strings")
        return ()

    def lined_strings(self, value: Any, line: int, what: str) -> list[tuple[str, int]]:
        """:meth:`strings`, each with its own line (a list item's, else ``line``)."""
        texts = self.strings(value, line, what)
        lines = value.item_lines if isinstance(value, LineList) and texts else [line] * len(texts)
        return list(zip(texts, lines, strict=True))

    def unknown_keys(self, mapping: LineDict, allowed: set[str], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(
                    mapping.line_of(key),
                    f"unknown key '{key}' in {where} (allowed: {', '.join(sorted(allowed))})",
                )


def _read_slots(reader: _Reader, raw: Any) -> dict[str, SlotSpec]:
    slots: dict[str, SlotSpec] = {}
    if raw is None:
        return slots
    if not isinstance(raw, LineDict):
        reader.problem(1, "'slots' must be a mapping of slot name to its source")
        return slots
    for name, spec in raw.items():
        line = raw.line_of(name)
        if name in BUILT_IN_SLOTS:
            what = "the person's name" if name == NAME_SLOT else "the message's stance"
            reader.problem(line, f"'{name}' is built in ({what}); pick another")
            continue
        if not isinstance(spec, LineDict) or not ({"entity", "intents", "lookup"} & spec.keys()):
            reader.problem(
                line,
                f"slot '{name}' needs 'entity: <label>', 'intents: {{...}}' or 'lookup: <slot>'",
            )
            continue
        reader.unknown_keys(spec, {"entity", "intents", "lookup", "values"}, f"slot '{name}'")
        intents = _string_map(reader, spec, "intents", f"slot '{name}': 'intents' must map")
        values = _string_map(reader, spec, "values", f"slot '{name}': 'values' must map")
        if spec.get("lookup") is not None and not values:
            reader.problem(line, f"slot '{name}': a lookup needs 'values: {{value: text}}'")
        lookup = spec.get("lookup")
        slots[name] = SlotSpec(
            name, spec.get("entity"), intents, None if lookup is None else str(lookup), values
        )
    for slot in slots.values():
        if slot.lookup is not None and slots.get(slot.lookup, slot).lookup is not None:
            reader.problem(
                raw.line_of(slot.name),
                f"slot '{slot.name}': lookup '{slot.lookup}' must be an entity or intent slot",
            )
    return slots


def _string_map(reader: _Reader, spec: LineDict, key: str, message: str) -> dict[str, str]:
    """``spec[key]`` as a mapping of strings (None when absent); a list or text is a problem."""
    raw = spec.get(key) or {}
    if not isinstance(raw, dict):
        reader.problem(spec.line_of(key), f"{message} a name to a text")
        return {}
    return {str(k): str(v) for k, v in raw.items()}


def _read_persona(reader: _Reader, raw: Any, line: int) -> Persona:
    """``persona: {kind: bot | human, also_refuse: [regex, ...], stance: favor | against |
    none}``; a bot with no stance rule when absent."""
    if raw is None:
        return Persona()
    if not isinstance(raw, LineDict):
        reader.problem(line, "'persona' must be a mapping, e.g. 'kind: bot'")
        return Persona()
    reader.unknown_keys(raw, {"kind", "also_refuse", "stance"}, "'persona'")
    kind = raw.get("kind", Persona.kind)
    if (error := _persona_error(kind=kind)) is not None:
        reader.problem(raw.line_of("kind"), f"{error}, not {kind!r}")
        kind = Persona.kind
    patterns = []
    where = raw.line_of("also_refuse")
    for pattern, at in reader.lined_strings(raw.get("also_refuse", []), where, "also_refuse"):
        if (error := _persona_error(also_refuse=(pattern,))) is not None:
            reader.problem(at, error)
        else:
            patterns.append(pattern)
    stance = raw.get("stance")
    if stance is not None and (error := _persona_error(stance=stance)) is not None:
        reader.problem(raw.line_of("stance"), f"{error}, not {stance!r}")
        stance = None
    return Persona(kind, tuple(patterns), stance)


def _persona_error(**fields: Any) -> str | None:
    """Why :class:`Persona` refuses ``fields`` (its own words), or None."""
    try:
        Persona(**fields)
    except ValueError as exc:
        return str(exc)
    return None


def _read_acknowledgements(reader: _Reader, raw: Any, line: int) -> dict[str, tuple[str, ...]]:
    """``acknowledgements: {act or side: [template, ...]}``, templates with a ``{phrase}`` slot
    at most; none when absent (the fallback then has no grounded candidates). A side (favor,
    against) answers a message the NLU is sure argues it, whatever its act."""
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        reader.problem(line, "'acknowledgements' must map dialogue acts to lists of templates")
        return {}
    found: dict[str, tuple[str, ...]] = {}
    for act, value in raw.items():
        at = raw.line_of(act)
        if act not in ACTS and act != FOLLOW_UP_ACT and act not in SIDES:
            acts = ", ".join((*ACTS, FOLLOW_UP_ACT))
            reader.problem(
                at,
                f"unknown dialogue act or side '{act}' (acts: {acts}; sides: {', '.join(SIDES)})",
            )
            continue
        if not value:
            reader.problem(at, f"acknowledgements '{act}' is empty: add templates or drop the act")
            continue
        templates = reader.lined_strings(value, at, f"acknowledgements '{act}'")
        for template, template_line in templates:
            _check_templates(reader, template_line, (template,), {PHRASE_SLOT})
        found[act] = tuple(template for template, _ in templates)
        if found[act] and not any(map(_slot_free, found[act])):
            reader.problem(
                at,
                f"acknowledgements '{act}' needs a template without {{{PHRASE_SLOT}}}, "
                "for messages with no key phrase",
            )
    return found


def _read_follow_ups(reader: _Reader, raw: Any, line: int, intents: set[str]) -> FollowUps | None:
    """``follow_ups: {subject, replies, unbound, answers}``; None when absent (follow-ups then
    go to the intents and the fallback like any message). The checks against the slots are
    :func:`_check_follow_ups`'s."""
    if raw is None:
        return None
    if not isinstance(raw, LineDict):
        reader.problem(line, "'follow_ups' must be a mapping: subject, replies, unbound, answers")
        return None
    reader.unknown_keys(raw, FOLLOW_UP_KEYS, "'follow_ups'")
    for key in sorted(FOLLOW_UP_KEYS - raw.keys()):
        reader.problem(line, f"'follow_ups' is missing '{key}'")
    replies: dict[str, tuple[str, ...]] = {}
    framings = raw.get("replies")
    if isinstance(framings, LineDict):
        for kind, value in framings.items():
            at = framings.line_of(kind)
            if kind not in KINDS:
                reader.problem(at, f"unknown follow-up kind '{kind}' (kinds: {', '.join(KINDS)})")
                continue
            replies[kind] = reader.strings(value, at, f"follow_ups replies '{kind}'")
            _check_templates(reader, at, replies[kind], {ANSWER_SLOT})
    elif "replies" in raw:
        reader.problem(raw.line_of("replies"), "'follow_ups.replies' must map kinds to framings")
    unbound = reader.strings(raw.get("unbound", []), raw.line_of("unbound"), "unbound")
    _check_templates(reader, raw.line_of("unbound"), unbound, set())
    answers: dict[str, dict[str, str]] = {}
    found = raw.get("answers")
    if isinstance(found, LineDict):
        for value, texts in found.items():
            if not isinstance(texts, LineDict):
                reader.problem(
                    found.line_of(value), f"follow-up answers for '{value}' must map kinds to texts"
                )
                continue
            reader.unknown_keys(texts, set(KINDS), f"follow-up answers for '{value}'")
            answers[str(value)] = {k: str(v) for k, v in texts.items() if k in KINDS}
            # An intent's answers may be any few kinds; a subject value needs every kind.
            is_intent = value in intents
            missing = [] if is_intent else [k for k in replies if k not in answers[str(value)]]
            unframed = [k for k in answers[str(value)] if k not in replies]
            if unframed:
                reader.problem(
                    found.line_of(value),
                    f"follow-up answers for '{value}' have no framing in follow_ups.replies: "
                    + ", ".join(unframed),
                )
            if missing:
                reader.problem(
                    found.line_of(value),
                    f"follow-up answers for '{value}' are missing: {', '.join(missing)}",
                )
    elif "answers" in raw:
        reader.problem(raw.line_of("answers"), "'follow_ups.answers' must map values to texts")
    subject = str(raw.get("subject", ""))
    return FollowUps(subject, answers, replies, unbound, frozenset(answers) & intents)


def _check_follow_ups(reader: _Reader, raw: LineDict, script: DialogueScript) -> None:
    """The subject is an entity slot, and every value the script answers "what is it?" for
    (a lookup on the subject) has its follow-ups: a topic without them would answer its
    definition, then fall back on "example?"."""
    follow = script.follow_ups
    if follow is None:
        return
    line = raw.line_of("follow_ups")
    subject = script.slots.get(follow.subject)
    if subject is None or subject.entity is None:
        reader.problem(line, f"follow_ups subject '{follow.subject}' must be an entity slot")
    for slot in script.slots.values():
        if slot.lookup != follow.subject:
            continue
        for value in slot.values:
            if value not in follow.answers:
                reader.problem(
                    line,
                    f"'{value}' has a '{slot.name}' but no follow-up answers "
                    f"({', '.join(follow.replies)}): add them under follow_ups.answers",
                )


def _read_states(reader: _Reader, raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, LineDict) or not raw:
        reader.problem(
            getattr(raw, "line", 1), "'states' must be a non-empty mapping of state names"
        )
        return {}
    states: dict[str, tuple[str, ...]] = {}
    for name, spec in raw.items():
        line = raw.line_of(name)
        if spec is None:
            states[name] = ()
        elif isinstance(spec, LineDict):
            reader.unknown_keys(spec, {"replies"}, f"state '{name}'")
            states[name] = reader.strings(
                spec.get("replies", []), spec.line_of("replies"), "replies"
            )
        else:
            reader.problem(
                line, f"state '{name}' must be a mapping (e.g. 'replies: [...]') or empty"
            )
            states[name] = ()
    return states


def _read_transitions(reader: _Reader, raw: Any) -> list[TransitionSpec]:
    if not isinstance(raw, LineList):
        reader.problem(getattr(raw, "line", 1), "'transitions' must be a list")
        return []
    specs = []
    for index, (item, line) in enumerate(zip(raw, raw.item_lines, strict=True)):
        if not isinstance(item, LineDict):
            reader.problem(line, "each transition must be a mapping with trigger, source, dest")
            continue
        reader.unknown_keys(item, TRANSITION_KEYS, "a transition")
        missing = [k for k in ("trigger", "source", "dest") if k not in item]
        if missing:
            reader.problem(line, f"transition is missing {', '.join(missing)}")
            continue
        specs.append(
            TransitionSpec(
                key=f"t{index}",
                trigger=str(item["trigger"]),
                sources=reader.strings(item["source"], item.line_of("source"), "source"),
                dest=item["dest"],
                replies=reader.strings(item.get("replies", []), item.line_of("replies"), "replies"),
                conditions=reader.strings(
                    item.get("conditions", []), item.line_of("conditions"), "conditions"
                ),
                unless=reader.strings(item.get("unless", []), item.line_of("unless"), "unless"),
                lines={key: item.line_of(key) for key in item} | {"trigger": line},
            )
        )
    return specs


def _read_globals(reader: _Reader, raw: Any, initial: str) -> list[TransitionSpec]:
    if not isinstance(raw, LineDict):
        reader.problem(getattr(raw, "line", 1), "'global_intents' must map intent names to replies")
        return []
    specs = []
    for intent, item in raw.items():
        line = raw.line_of(intent)
        if not isinstance(item, LineDict):
            reader.problem(line, f"global intent '{intent}' must be a mapping with 'replies'")
            continue
        reader.unknown_keys(item, GLOBAL_KEYS, f"global intent '{intent}'")
        reset = bool(item.get("reset", False))
        specs.append(
            TransitionSpec(
                key=f"global:{intent}",
                trigger=intent,
                sources=("*",),
                # A reset goes back to the start; otherwise the user stays where they were.
                dest=initial if reset else item.get("dest"),
                replies=reader.strings(item.get("replies", []), item.line_of("replies"), "replies"),
                reset=reset,
                opt_out=bool(item.get("opt_out", False)),
                opt_in=bool(item.get("opt_in", False)),
                lines={"trigger": line},
            )
        )
    return specs


def _check(
    reader: _Reader, raw: LineDict, script: DialogueScript, intents: set[str] | None
) -> None:
    # Long: one check per rule of the dialogue format, each a few lines, all reporting through the
    # one reader; a helper per rule would only move the list.
    states = set(script.state_replies)
    slots = set(script.slots) | {NAME_SLOT}
    if script.initial not in states:
        reader.problem(
            raw.line_of("initial"), f"initial state '{script.initial}' is not in 'states'"
        )
    for t in script.transitions:
        line = t.line_of("trigger")
        for source in t.sources:
            if source != "*" and source not in states:
                reader.problem(
                    t.line_of("source"),
                    f"transition '{t.trigger}': unknown source state '{source}'",
                )
        if t.dest is not None and t.dest not in states:
            reader.problem(
                t.line_of("dest"), f"transition '{t.trigger}': unknown destination state '{t.dest}'"
            )
        if intents is not None and t.trigger not in intents:
            reader.problem(line, f"trigger '{t.trigger}' is not an intent in the intents file")
        if t.trigger == OUT_OF_SCOPE:
            reader.problem(
                line, f"'{OUT_OF_SCOPE}' cannot be a trigger: it means no intent matched"
            )
        for guard in (*t.conditions, *t.unless):
            problem = _guard_problem(guard, script)
            if problem is not None:
                where = t.line_of("conditions" if guard in t.conditions else "unless")
                reader.problem(where, problem)
        if not t.replies and not (t.dest and script.state_replies.get(t.dest)):
            reader.problem(
                line, f"transition '{t.trigger}' has no replies and its destination none"
            )
        _check_templates(reader, t.line_of("replies"), t.replies, slots)
    for state, replies in script.state_replies.items():
        _check_templates(reader, raw["states"].line_of(state), replies, slots)
    if len({r for r in script.fallback_replies if _slot_free(r)}) < 2:
        # Otherwise a second fallback in a row would have to repeat the first.
        reader.problem(
            raw.line_of("fallback"),
            "'fallback.replies' needs at least two different lines without slots, "
            "so a canned reply never repeats the one before",
        )
    _check_templates(reader, raw.line_of("fallback"), script.fallback_replies, slots)
    for flag in ("opt_out", "opt_in"):
        if sum(getattr(t, flag) for t in script.transitions) != 1:
            reader.problem(
                raw.line_of("global_intents"), f"exactly one global intent needs '{flag}: true'"
            )
    for slot in script.slots.values():
        for intent in slot.intents:
            if intents is not None and intent not in intents:
                reader.problem(
                    raw["slots"].line_of(slot.name),
                    f"slot '{slot.name}': unknown intent '{intent}'",
                )
    _check_reachable(reader, raw, script)
    _check_duplicates(reader, script)
    _check_follow_ups(reader, raw, script)


def _slot_free(template: str) -> bool:
    try:
        return not template_fields(template)
    except ValueError:
        return False  # reported by _check_templates


def _guard_problem(guard: str, script: DialogueScript) -> str | None:
    """What is wrong with a guard, or None. ``has_<slot>``: the slot holds a value;
    ``mentions_<slot>``: this message filled it; ``<slot>_is_<value>``: the slot's value is
    that value (one the slot can take, where its values are known)."""
    if guard in script.value_guards:
        slot, value = script.value_guards[guard]
        allowed = _slot_values(script, slot)
        if allowed is not None and value not in allowed:
            return (
                f"condition '{guard}': slot '{slot}' is never '{value}' "
                f"(its values: {', '.join(sorted(allowed))})"
            )
        return None
    kind, _, name = guard.partition("_")
    slot = script.slots.get(name)
    if kind == "has" and slot is not None:
        return None
    if kind == "mentions" and slot is not None and slot.entity is not None:
        return None
    return (
        f"condition '{guard}' must be has_<slot> for a declared slot, mentions_<slot> for an "
        f"entity slot, or <slot>_is_<value> (a declared slot, or '{STANCE_SLOT}' with "
        f"{', '.join(STANCES)})"
    )


def _slot_values(script: DialogueScript, slot: str) -> set[str] | None:
    """The values a slot can take where the script knows them all, else None (free text)."""
    if slot == STANCE_SLOT:
        return set(STANCES)
    spec = script.slots.get(slot)
    if spec is not None and spec.intents:
        return set(spec.intents.values())
    return None


def _check_templates(
    reader: _Reader, line: int, templates: tuple[str, ...], slots: set[str]
) -> None:
    """Report templates with broken braces or naming a slot not in ``slots``."""
    for template in templates:
        try:
            unknown = template_fields(template) - slots
        except ValueError as exc:
            reader.problem(line, f"reply template {template!r} is malformed: {exc}")
            continue
        for name in sorted(unknown):
            reader.problem(line, f"reply template {template!r} names unknown slot '{{{name}}}'")


def _check_reachable(reader: _Reader, raw: LineDict, script: DialogueScript) -> None:
    seen, queue = {script.initial}, deque([script.initial])
    while queue:
        state = queue.popleft()
        for t in script.transitions:
            if t.dest and t.dest not in seen and ("*" in t.sources or state in t.sources):
                seen.add(t.dest)
                queue.append(t.dest)
    for state in script.state_replies:
        if state not in seen:
            reader.problem(
                raw["states"].line_of(state),
                f"state '{state}' cannot be reached from '{script.initial}'",
            )


def _check_duplicates(reader: _Reader, script: DialogueScript) -> None:
    globals_ = {t.trigger for t in script.transitions if "*" in t.sources}
    for t in script.transitions:
        if "*" not in t.sources and t.trigger in globals_:
            reader.problem(
                t.line_of("trigger"),
                f"'{t.trigger}' is a global intent; it cannot also be a transition",
            )


def variant_warnings(script: DialogueScript, minimum: int) -> list[Problem]:
    """Busy transitions (from the initial state, or from any state) with fewer than
    ``minimum`` reply variants: on X, where the account may not repeat a text within a day,
    every person greeted needs a fresh line (docs/twitter.md)."""
    warnings = []
    for t in script.transitions:
        if script.initial not in t.sources and "*" not in t.sources:
            continue
        replies = t.replies or script.state_replies.get(t.dest or "", ())
        if len(replies) < minimum:
            warnings.append(
                Problem(
                    str(script.path),
                    t.line_of("replies"),
                    f"transition '{t.trigger}' has {len(replies)} reply variant(s); busy "
                    f"transitions need at least {minimum} so replies on X do not repeat "
                    "(add phrasings, or a {name} slot; THREADBOT_MIN_REPLY_VARIANTS)",
                    "warning",
                )
            )
    return warnings


def load_script(path: Path, intents: set[str] | None = None) -> DialogueScript:
    """Read and check ``path``; pass the NLU's intent names to check triggers against them."""
    reader = _Reader(path)
    node = compose(path, reader.problems)
    if reader.problems:
        raise ScriptError(reader.problems)
    raw = None if node is None else with_lines(node)
    if not isinstance(raw, LineDict):
        raise ScriptError([Problem(str(path), 1, "the script must be a YAML mapping")])
    reader.unknown_keys(raw, TOP_LEVEL_KEYS, "the script")
    for key in ("initial", "states", "transitions", "global_intents", "fallback"):
        if key not in raw:
            reader.problem(1, f"missing required key '{key}'")
    if reader.problems:
        raise ScriptError(reader.problems)
    initial = str(raw["initial"])
    timeout = raw.get("session_timeout_minutes", 30)
    if not isinstance(timeout, int | float) or timeout <= 0:
        reader.problem(
            raw.line_of("session_timeout_minutes"),
            "session_timeout_minutes must be a positive number",
        )
        timeout = 30
    fallback = raw["fallback"]
    fallback_replies = (
        reader.strings(fallback.get("replies", []), fallback.line_of("replies"), "replies")
        if isinstance(fallback, LineDict)
        else ()
    )
    transitions = (
        *_read_transitions(reader, raw["transitions"]),
        *_read_globals(reader, raw["global_intents"], initial),
    )
    script = DialogueScript(
        path=path,
        name=str(raw.get("name", path.parent.name)),
        topic=raw.get("topic"),
        initial=initial,
        session_timeout_minutes=float(timeout),
        slots=_read_slots(reader, raw.get("slots")),
        state_replies=_read_states(reader, raw["states"]),
        transitions=transitions,
        fallback_replies=fallback_replies,
        persona=_read_persona(reader, raw.get("persona"), raw.line_of("persona")),
        acknowledgements=_read_acknowledgements(
            reader, raw.get("acknowledgements"), raw.line_of("acknowledgements")
        ),
        follow_ups=_read_follow_ups(
            reader,
            raw.get("follow_ups"),
            raw.line_of("follow_ups"),
            {t.trigger for t in transitions},
        ),
    )
    _check(reader, raw, script, intents)
    if reader.problems:
        raise ScriptError(reader.problems)
    return script
