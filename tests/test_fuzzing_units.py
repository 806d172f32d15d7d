"""The suite's fuzzing replays: the CI profile draws the same examples every run, and a deep run
draws from a seed it prints and takes back (`HYPOTHESIS_SEED`), so a red run can be replayed."""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.support import fuzzing
from tests.support.fuzzing import ODD_VALUES, fuzz_seed, fuzz_settings


def drawn() -> list[str]:
    seen: list[str] = []

    @fuzz_settings(share=0.1)
    @given(ODD_VALUES)
    def prop(value: object) -> None:
        seen.append(repr(value))

    prop()
    return seen


def test_the_ci_profile_draws_the_same_examples_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    monkeypatch.delenv("HYPOTHESIS_SEED", raising=False)
    first = drawn()
    assert len(first) >= 10 and drawn() == first


def test_a_deep_run_is_replayed_from_its_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "deep")
    monkeypatch.delenv("HYPOTHESIS_SEED", raising=False)
    seed = fuzz_seed()
    assert seed != fuzzing.CI_SEED  # a deep run explores: a seed of its own…
    monkeypatch.setattr(fuzzing, "DEEP_EXAMPLES", 30)
    first = drawn()
    monkeypatch.setenv("HYPOTHESIS_SEED", str(seed))  # …that replays it
    assert fuzz_seed() == seed and drawn() == first
