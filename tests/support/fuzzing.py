"""Property-based fuzzing of the running bot over signed HTTP, with hypothesis.

How hypothesis meets asyncio here. The emulators the bot calls (Slack, LLM) are served by the
test session's event loop, so that loop must keep running while a fuzzed request is in flight:
a blocking HTTP call from the test's own thread would deadlock the bot against its emulators.
So the async test hands a plain (sync) `@given` property to a worker thread with
`asyncio.to_thread` — the session loop stays free — and the property sends each example by
submitting a coroutine to the session loop (`LoopBridge.run`, `run_coroutine_threadsafe`) and
waiting for it with a hard timeout. Hypothesis generates, runs and shrinks examples as usual.

Profiles: "ci" (the default: a few hundred examples per kind) and "deep" (ten times as many),
chosen with `HYPOTHESIS_PROFILE=deep`. They are applied per test, never loaded globally.

Replay. Every run draws from a seed (`fuzz_seed`): the CI profile's is fixed (`CI_SEED`), so CI
draws the same examples every run and a red run fails again on a rerun; a deep run draws a seed
of its own, which the fuzz tests print; `HYPOTHESIS_SEED=<seed>` replays either. (No example
database: every run is a fresh bot with fresh IDs; the seed is what replays it.)
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

CI_EXAMPLES = 300
DEEP_EXAMPLES = CI_EXAMPLES * 10
CI_SEED = 0
_DEEP_SEED = random.SystemRandom().randrange(2**32)  # this process's, when none is given

_FUZZ = settings(
    deadline=None,  # the bot's 3 s answer bound is asserted by the properties themselves
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
    print_blob=True,
    database=None,  # every run is new: fresh IDs, a fresh bot; the seed replays it
)


def _deep() -> bool:
    return os.environ.get("HYPOTHESIS_PROFILE", "ci") == "deep"


def fuzz_seed() -> int:
    """The seed this run draws from: `HYPOTHESIS_SEED` if set, else the CI profile's fixed
    one, else (deep) this process's own."""
    given = os.environ.get("HYPOTHESIS_SEED", "").strip()
    if given:
        return int(given)
    return _DEEP_SEED if _deep() else CI_SEED


def fuzz_settings(share: float = 1.0) -> Callable[[F], F]:
    """The active fuzz profile and seed, for a `@given` property; `share` scales its examples
    for a cheaper kind."""
    examples = DEEP_EXAMPLES if _deep() else CI_EXAMPLES
    profile = settings(_FUZZ, max_examples=max(10, int(examples * share)))
    chosen = fuzz_seed()

    def apply(prop: F) -> F:
        return seed(chosen)(profile(prop))  # type: ignore[no-any-return]

    return apply


def replay_hint() -> str:
    """How to draw this run's examples again (the fuzz tests print it)."""
    profile = "HYPOTHESIS_PROFILE=deep " if _deep() else ""
    return f"seed {fuzz_seed()}: replay with {profile}HYPOTHESIS_SEED={fuzz_seed()}"


class LoopBridge:
    """Runs coroutines on the session's event loop from the hypothesis worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)


async def run_property(prop: Callable[[], None]) -> None:
    """Run a `@given` property in a worker thread while this loop keeps serving emulators."""
    await asyncio.to_thread(prop)


# -- strange values ---------------------------------------------------------------------------

LONE_SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\ud83d"])
ODD_TEXT = st.one_of(
    st.just(""),
    st.sampled_from([" ", "\n\t ", "\u200b", "\u202e", "\x00", "null", "undefined", "<@UBOT>"]),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40),  # emoji, combining marks, RTL, …
    LONE_SURROGATES,
)
# A long field costs hypothesis nothing to build: a short text repeated.
ENORMOUS_TEXT = st.builds(
    lambda unit, times: unit * times, st.text(min_size=1, max_size=4), st.integers(5_000, 60_000)
)
ODD_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    ODD_TEXT,
    ENORMOUS_TEXT,
)
ODD_VALUES = st.recursive(
    ODD_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)

# Most fields are kept, and the fields that say what a payload is (its type, action ID, …)
# nearly always, so most examples get past the shape checks and reach the listeners.
_KEEP = ["keep"] * 8
_CHOICES_FOR_VALUE = [*_KEEP, "drop", "odd", "odd", "odd"]
_CHOICES_FOR_CONTAINER = [*_KEEP, "drop", "odd", "deeper", "deeper", "deeper"]
_CHOICES_FOR_KIND = _KEEP * 4 + ["drop", "odd"]
KIND_FIELDS = frozenset({"type", "action_id", "callback_id", "command"})


def _choices(key: str, item: Any) -> list[str]:
    if key in KIND_FIELDS:
        return _CHOICES_FOR_KIND
    return _CHOICES_FOR_CONTAINER if isinstance(item, dict | list) else _CHOICES_FOR_VALUE


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """`value` (JSON-like) with some fields dropped, replaced by strange values, or mutated
    further down; now and then an unknown field is added."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            choice = draw(st.sampled_from(_choices(key, item)))
            if choice == "keep" or (choice == "deeper" and depth >= 4):
                result[key] = copy.deepcopy(item)
            elif choice == "odd":
                result[key] = draw(ODD_VALUES)
            elif choice == "deeper":
                result[key] = draw(mutated(item, depth + 1))
        if draw(st.integers(0, 9)) == 0:
            result[draw(st.text(min_size=1, max_size=12))] = draw(ODD_VALUES)
        return result
    if isinstance(value, list):
        items = [draw(mutated(item, depth + 1)) for item in value]
        if draw(st.integers(0, 9)) == 0:
            items.append(draw(ODD_VALUES))
        return items
    return draw(st.one_of(st.just(value), ODD_VALUES))


def replace_placeholders(value: Any, fresh: dict[str, Any]) -> Any:
    """`value` with each string equal to a key of `fresh` replaced by its value."""
    if isinstance(value, dict):
        return {k: replace_placeholders(v, fresh) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_placeholders(v, fresh) for v in value]
    if isinstance(value, str):
        return fresh.get(value, value)
    return value
