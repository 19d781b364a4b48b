"""The sandbox's world: X's duplicate-content rule, account-wide or per thread, for a window."""

from __future__ import annotations

import time

import pytest

from xsandbox import SandboxState
from xsandbox.state import DUPLICATE, ApiError


def _refused(world: SandboxState, text: str, in_reply_to: int) -> bool:
    try:
        world.post(world.bot_id, text, in_reply_to)
    except ApiError as exc:
        assert (exc.status, exc.detail) == (403, DUPLICATE)
        return True
    return False


@pytest.mark.parametrize(
    ("rule", "other_thread", "same_thread"),
    [("account", True, True), ("thread", False, True), ("off", False, False)],
)
def test_sandbox_rule_account_wide_by_default_with_a_switch(
    rule: str, other_thread: bool, same_thread: bool
) -> None:
    world = SandboxState(duplicate_rule=rule)
    first, second = world.tweet("amy", "@ada hi"), world.tweet("bob", "@ada hi")
    assert not _refused(world, "Hello there!", int(first["id"]))
    assert _refused(world, "  HELLO there! ", int(second["id"])) is other_thread
    assert _refused(world, "hello THERE!", int(first["id"])) is same_thread
    assert not _refused(world, "Something else", int(second["id"]))


def test_sandbox_rule_forgets_after_its_window() -> None:
    world = SandboxState(duplicate_window_seconds=0.2)
    mention = int(world.tweet("amy", "@ada hi")["id"])
    world.post(world.bot_id, "Hello there!", mention)
    assert _refused(world, "Hello there!", mention)
    time.sleep(0.25)
    assert not _refused(world, "Hello there!", mention)
    with pytest.raises(ValueError, match="duplicate_rule must be one of"):
        SandboxState(duplicate_rule="sometimes")
