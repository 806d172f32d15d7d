"""`make eval`'s plain parts, in the bot's environment: a record's inputs as the question asked,
the similarity of an answer to a correction, the table, the settings, and the replay through
the bot's Answerer (against the LLM emulator, tracing off)."""

from __future__ import annotations

import asyncio

import pytest
from mlflow.tracing.provider import trace_disabled

from bot.answering.answerer import APOLOGY
from bot.llm.choice import ENDPOINT, LlmChoice
from config import ConfigError, load_settings_of
from devkit.llm_api import LlmEmulator
from evaluation.__main__ import main
from evaluation.records import (
    REPLAY_CHANNEL,
    REPLAY_USER,
    BadRecord,
    replay_question,
    select,
)
from evaluation.replay import Replay
from evaluation.settings import EvalSettings
from evaluation.similarity import overlap
from evaluation.summary import Row, Score, passes, render, summarize
from tests.support.suite import LLM_KEY

TRACKING = {"mlflow_tracking_uri": "http://127.0.0.1:9", "mlflow_experiment_name": "bot"}


# A record's inputs


def test_a_record_with_a_question_and_its_thread_is_asked_as_the_bot_was() -> None:
    history = [
        {"role": "user", "content": "Where is the VPN guide?"},
        {"role": "assistant", "content": "On the wiki."},
    ]
    question = replay_question({"question": "And the password?", "history": history}, "r1")
    assert question.text == "And the password?"
    assert question.history == history
    assert (question.user_id, question.channel_id, question.thread_ts) == (
        REPLAY_USER,
        REPLAY_CHANNEL,
        "r1",
    )


def test_a_record_without_history_or_with_other_inputs_is_asked_alone() -> None:
    assert replay_question({"question": "Hi", "channel": "C1"}, "r").history == []
    assert replay_question({"question": "Hi", "history": None}, "r").history == []


@pytest.mark.parametrize(
    ("inputs", "why"),
    [
        ({}, "no `question`"),
        ({"question": "   "}, "no `question`"),
        ({"question": 42}, "no `question`"),
        ({"question": "Hi", "history": "earlier"}, "not a list"),
        ({"question": "Hi", "history": [{"role": "system", "content": "x"}]}, "role"),
        ({"question": "Hi", "history": [{"role": "user", "content": None}]}, "role"),
    ],
)
def test_a_record_that_cannot_be_asked_says_why(inputs: dict, why: str) -> None:
    with pytest.raises(BadRecord, match=why):
        replay_question(inputs, "r")


def test_the_first_records_up_to_the_limit_are_replayed_the_unaskable_skipped() -> None:
    records = [
        {"inputs": {"question": "One"}, "dataset_record_id": "dr-1"},
        {"inputs": {"prompt": "no question"}, "dataset_record_id": "dr-2"},
        {"inputs": None},
        {"inputs": {"question": "Four"}, "dataset_record_id": "dr-4"},
    ]
    everything = select(records)
    assert everything.replayed == [0, 3]
    assert everything.skipped == [
        "record dr-2: its inputs have no `question` text",
        "record 3: its inputs have no `question` text",
    ]
    limited = select(records, limit=2)
    assert (limited.replayed, len(limited.skipped)) == ([0], 1)


# Similarity to a correction


def test_similarity_is_the_share_of_the_expected_words_the_answer_has() -> None:
    found = overlap(
        "Open https://vpn.example.com and choose Reset, then check your mail.",
        "Open vpn.example.com and choose Reset password",
    )
    assert (found.found, found.expected) == (7, 8)  # all but "password"
    assert found.score == pytest.approx(7 / 8)


def test_similarity_ignores_case_and_punctuation_and_counts_words_once() -> None:
    assert overlap("THE office, closed!", "the office is closed; the office").score == 0.75
    assert overlap("anything", "").score == 0.0
    assert overlap("", "expected words").score == 0.0


# Pass or fail, and the table


@pytest.mark.parametrize(
    ("value", "threshold", "passed"),
    [
        (True, None, True),
        (False, None, False),
        ("yes", None, True),
        (" Yes ", None, True),
        ("no", None, False),
        (0.5, 0.5, True),
        (0.49, 0.5, False),
        (1.0, None, False),  # a number without a threshold proves nothing
        (float("nan"), 0.0, False),
        (None, None, False),
    ],
)
def test_a_value_passes_when_true_yes_or_at_its_threshold(
    value: object, threshold: float | None, passed: bool
) -> None:
    assert passes(value, threshold) is passed


ROWS = [
    Row("tr-1", "Liked question", {"no_error": Score(True), "not_empty": Score(True)}),
    Row(
        "tr-2",
        "Corrected question",
        {"no_error": Score(True), "not_empty": Score(True), "similarity": Score(0.25)},
    ),
    Row(
        "tr-3",
        "Another corrected one",
        {"no_error": Score(True), "not_empty": Score(True), "similarity": Score(0.75)},
    ),
    Row(
        "tr-4",
        "A failed answer",
        {
            "no_error": Score(False, rationale="the answer path failed: timeout"),
            "not_empty": Score(True),
            "similarity": Score(error="scorer crashed"),
        },
    ),
]
SCORERS = ["no_error", "not_empty", "similarity"]


def test_a_record_passes_when_every_scorer_that_applied_passes() -> None:
    summary = summarize(ROWS, SCORERS, {"similarity": 0.5}, records=4)
    assert (summary.records, summary.passed, summary.failed) == (4, 2, 2)
    assert [f.row.trace_id for f in summary.failures] == ["tr-2", "tr-4"]
    assert summary.failures[0].reasons == ("similarity 0.25 < 0.50",)
    assert summary.failures[1].reasons == (
        "no_error: False (the answer path failed: timeout)",
        "similarity: error: scorer crashed",
    )
    figures = {f.name: f for f in summary.scorers}
    assert (figures["no_error"].applied, figures["no_error"].passed) == (4, 3)
    assert figures["no_error"].mean is None  # yes/no: its pass rate says it all
    similarity = figures["similarity"]
    assert (similarity.applied, similarity.passed, similarity.failed, similarity.errors) == (
        3,
        1,
        2,
        1,
    )
    assert similarity.mean == pytest.approx(0.5)


def test_a_record_without_a_row_failed_it_was_not_replayed() -> None:
    summary = summarize(ROWS[:1], SCORERS, {}, records=3)
    assert (summary.passed, summary.failed) == (1, 2)
    assert summary.failures[0].reasons == ("no trace: the replay did not run",)


def test_the_table_shows_totals_each_scorer_the_failures_and_the_link() -> None:
    summary = summarize(ROWS, SCORERS, {"similarity": 0.5}, records=4, skipped=["record 7: x"])
    text = render(summary, ["make eval: 4 records"], "http://ui/#/run")
    assert text.splitlines()[:4] == [
        "make eval: 4 records",
        "",
        "records  passed  failed",
        "      4       2       2",
    ]
    assert "scorer      applied  passed  failed  errors  pass rate   mean" in text
    assert "no_error          4       3       1       0      75.0%      -" in text
    assert "similarity        3       1       2       1      33.3%  0.500" in text
    assert '  tr-2  "Corrected question"\n      similarity 0.25 < 0.50' in text
    assert "skipped (not replayed): 1\n  record 7: x" in text
    assert text.endswith("run: http://ui/#/run")


def test_a_long_question_is_cut_to_one_line_in_the_failures() -> None:
    row = Row("tr-9", "word " * 40 + "\nsecond line", {"no_error": Score(False)})
    text = render(summarize([row], ["no_error"], {}, records=1), [], "u")
    line = next(line for line in text.splitlines() if line.startswith("  tr-9"))
    assert line.endswith('…"') and len(line) < 80


# Settings


def test_evaluation_runs_go_to_an_experiment_of_their_own_by_default() -> None:
    settings = load_settings_of(EvalSettings, **TRACKING)
    assert settings.feedback_dataset == "slack-feedback"
    assert settings.evaluation_experiment == "bot-eval"
    named = load_settings_of(EvalSettings, **TRACKING, eval_experiment_name="bot evals")
    assert named.evaluation_experiment == "bot evals"


def test_evaluation_runs_never_go_to_the_bots_experiment() -> None:
    with pytest.raises(ConfigError, match=r"EVAL_EXPERIMENT_NAME is invalid .*report would count"):
        load_settings_of(EvalSettings, **TRACKING, eval_experiment_name="bot")


def test_in_the_bots_environment_the_command_says_to_use_make_eval(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot's environment has mlflow-tracing only: no `mlflow.genai`."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", TRACKING["mlflow_tracking_uri"])
    assert main([]) == 2
    assert "run it with `make eval`" in capsys.readouterr().err


# The replay


async def test_the_replay_asks_the_model_as_the_bot_does() -> None:
    """As `mlflow.genai.evaluate` calls it: from a worker thread, with a record's inputs
    (tracing off here: the slow test sees its traces on a real server)."""
    llm = LlmEmulator(api_key=LLM_KEY)
    await llm.start()
    try:
        settings = load_settings_of(
            EvalSettings, **TRACKING, llm_system_prompt="Be brief.", llm_model=llm.model
        )
        replay = trace_disabled(
            Replay(LlmChoice(ENDPOINT, llm.model, llm.base_url, LLM_KEY), settings)
        )
        history = [{"role": "user", "content": "Earlier"}, {"role": "assistant", "content": "Ok"}]
        answer = await asyncio.to_thread(replay, question="Now?", history=history, channel="C1")
        assert answer == "Echo: Now?"
        (request,) = llm.requests
        assert request["messages"] == [
            {"role": "system", "content": "Be brief."},
            *history,
            {"role": "user", "content": "Now?"},
        ]
        assert request["stream"] is True  # the bot's path: streamed
        llm.mode = "error"
        failed = await asyncio.to_thread(replay, question="Again?")
        assert failed == APOLOGY  # what the user would have read
    finally:
        await llm.stop()
