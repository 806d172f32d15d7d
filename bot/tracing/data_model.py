"""The data model of feedback in MLflow: assessment names, values, and trace tags.

Every vote and rating is a Feedback assessment with a HUMAN source whose `source_id` is the
Slack user ID:
- `user_feedback`: True (👍) or False (👎).
- `user_accuracy`, `user_helpfulness`, `user_relevance`: the 1–5 score / 5.0; the comment is
  the rationale.
- `user_feedback_reason`: why a 👎 (the reason's key, e.g. `inaccurate`); the optional comment
  is the rationale. It counts while its giver's valid vote on the answer is 👎.
Only valid assessments count: an overridden one stays on the trace with `valid=False`.

A correction ("What should the answer have said?") is an Expectation assessment, HUMAN source =
the Slack user: `expected_response`, the text as typed. One valid per person and answer: a
changed one overrides the earlier (`overrides`, the old one `valid=False`); an emptied one is
renamed `expected_response_withdrawn` (as a withdrawn vote is).
Each carries its meaning in words in its metadata (`meaning`), for whoever opens the trace in
MLflow's UI. Every name the bot writes to MLflow: docs/mlflow-names.md.
"""

from __future__ import annotations

VOTE = "user_feedback"
# A vote withdrawn by removing its reaction is renamed to this: no longer a vote, still visible.
WITHDRAWN_VOTE = "user_feedback_withdrawn"
RATING_DIMENSIONS = ("accuracy", "helpfulness", "relevance")
RATINGS = tuple(f"user_{dimension}" for dimension in RATING_DIMENSIONS)
REASON = "user_feedback_reason"
CORRECTION = "expected_response"
WITHDRAWN_CORRECTION = "expected_response_withdrawn"
# Expectations (ground truth) rather than feedback; the rest are Feedback assessments.
EXPECTATIONS = frozenset({CORRECTION})
CORRECTION_MAX_CHARS = 3000
# Not an assessment: an entry of the feedback outbox that adds the answer to the evaluation
# dataset once what came before it on the trace is delivered (bot/dataset/). Its user is who
# asked for it (an admin's Slack ID, or `auto:<DATASET_AUTO_ADD>`).
DATASET_ADD = "slack_bot.dataset_add"
AUTO_ADD_MODES = ("off", "corrected", "negative")
# The rating scale: whole scores from LOWEST_SCORE to HIGHEST_SCORE, stored as score / HIGHEST.
LOWEST_SCORE = 1
HIGHEST_SCORE = 5
SCORES = range(LOWEST_SCORE, HIGHEST_SCORE + 1)
SCALE_TEXT = f"{LOWEST_SCORE}–{HIGHEST_SCORE}"

# Trace tags set by the bot (besides metadata mlflow.trace.user / mlflow.trace.session and
# client_request_id = "<channel>:<question ts>").
TAG_TEAM = "slack.team"
TAG_CHANNEL = "slack.channel"
TAG_CHANNEL_TYPE = "slack.channel_type"
TAG_ANSWER_TS = "slack.answer_ts"
# Asked in the assistant panel while viewing this channel (its ID; Slack's thread context).
TAG_VIEWING_CHANNEL = "slack.viewing_channel"
# Where the question was asked: one of CONVERSATION_KINDS (bot/answering/conversation_kind.py
# finds it; "unknown" when Slack would not say, never a guess). Posts that other people read
# (digests, alerts) never quote an answer whose kind is not public_channel; a trace without
# it (from before) counts as private there (bot/report/privacy.py).
TAG_CONVERSATION_KIND = "slack.conversation_kind"
DM = "dm"
GROUP_DM = "group_dm"
PRIVATE_CHANNEL = "private_channel"
PUBLIC_CHANNEL = "public_channel"
ASSISTANT = "assistant"  # a thread of the assistant panel
UNKNOWN_KIND = "unknown"
CONVERSATION_KINDS = (DM, GROUP_DM, PRIVATE_CHANNEL, PUBLIC_CHANNEL, ASSISTANT, UNKNOWN_KIND)


# The metadata key of an assessment's meaning in words.
MEANING_KEY = "meaning"


def meaning(name: str, value: object) -> str:
    """What an assessment the bot writes for a person means, in words (its metadata's
    `meaning`)."""
    if name == VOTE:
        return (
            "👍: the person found this answer helpful"
            if value
            else ("👎: the person found this answer not helpful")
        )
    if name == WITHDRAWN_VOTE:
        return "a vote withdrawn (its reaction removed): it no longer counts"
    if name in RATINGS and isinstance(value, int | float) and not isinstance(value, bool):
        score = round(rating_score(float(value)))
        dimension = name.removeprefix("user_")
        return (
            f"{dimension}: {score} of {HIGHEST_SCORE} by the person "
            f"(stored as score / {HIGHEST_SCORE}); the rationale is their comment"
        )
    if name == REASON:
        return f"why the person gave 👎: {value}; the rationale is their comment"
    if name == CORRECTION:
        return "a correction: what the person says the answer should have said"
    if name == WITHDRAWN_CORRECTION:
        return "a correction withdrawn (emptied by the person): it no longer counts"
    return name


def rating_value(score: int) -> float:
    """A 1–5 score as stored (0.2–1.0)."""
    return score / HIGHEST_SCORE


def rating_score(value: float) -> float:
    """A stored rating back on the 1–5 scale."""
    return value * HIGHEST_SCORE
