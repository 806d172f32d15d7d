"""Every assessment the bot writes says in words what it holds (someone opening a trace in
MLflow's UI needs no README), and docs/mlflow-names.md lists every name the bot writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.tracing import data_model
from bot.tracing.counted_feedback import SUMMARY, SUMMARY_SOURCE_ID, Summary
from bot.tracing.data_model import MEANING_KEY, RATINGS, REASON, VOTE, WITHDRAWN_VOTE, meaning

DOC = Path(__file__).resolve().parent.parent / "docs" / "mlflow-names.md"


def test_the_summary_says_in_words_what_its_value_counts() -> None:
    low = Summary(counted=4, up=0, down=1, channel="D0GENAIBOT", score=1.75, kind="dm")
    # The shape the report searches and parses:
    assert low.value == "4 0 1 D0GENAIBOT dm low 1.75 1"
    assert low.rationale == (
        "4 votes and ratings count on this answer: 0 👍, 1 👎 and 3 ratings, in D0GENAIBOT "
        "(dm); score 1.75 of 5, below 3: a candidate for the report's lowest-rated answers."
    )
    fine = Summary(counted=1, up=1, down=0, channel=None, score=None)
    assert fine.rationale == (
        "1 vote or rating counts on this answer: 1 👍, 0 👎 and 0 ratings, in no channel "
        "known (a conversation not recorded); score 3 of 5 or more."
    )
    born = Summary(0, 0, 0, "C0GENERAL", None, "public_channel")
    assert born.rationale == (
        "0 votes and ratings count on this answer: 0 👍, 0 👎 and 0 ratings, in C0GENERAL "
        "(public channel); no score."
    )
    assert Summary.parse(low.value) == low


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        (VOTE, True, "👍"),
        (VOTE, False, "👎"),
        (RATINGS[0], 0.8, "accuracy: 4 of 5"),
        (REASON, "inaccurate", "why the person gave 👎: inaccurate"),
        (WITHDRAWN_VOTE, False, "withdrawn"),
        (data_model.CORRECTION, "It is on floor 3.", "correction"),
        (data_model.WITHDRAWN_CORRECTION, "It is on floor 3.", "withdrawn"),
    ],
)
def test_each_persons_assessment_has_a_meaning_in_words(
    name: str, value: object, words: str
) -> None:
    assert words in meaning(name, value)


def test_the_reference_table_lists_every_name_the_bot_writes() -> None:
    text = DOC.read_text()
    names = [
        value
        for key, value in vars(data_model).items()
        if key.startswith("TAG_")
        or key
        in ("VOTE", "WITHDRAWN_VOTE", "REASON", "CORRECTION", "WITHDRAWN_CORRECTION", "MEANING_KEY")
    ]
    names += [*RATINGS, SUMMARY, SUMMARY_SOURCE_ID, "slack_answer", "prompt.trimmed"]
    names += ["slack_bot.intent_id", "origin", "withdrawn_from", "mlflow.trace.user"]
    missing = [name for name in names if f"`{name}`" not in text]
    assert not missing, f"docs/mlflow-names.md does not list {missing}"
    assert MEANING_KEY == "meaning"
