"""Which assessments on a trace are people's feedback, and the bot's summary of them.

One rule for the report (bot/report/figures/answers.py reads every answer with it) and for
the delivery (bot/feedback/delivery.py keeps the summary with it after every write):
- a vote is a valid HUMAN `user_feedback` assessment with a `source_id` and a boolean value;
- a rating is a valid HUMAN `user_<dimension>` assessment with a `source_id` and a value in
  (0, 1] (the 1–5 score / 5).
Overridden (`valid=False`), withdrawn (renamed), LLM_JUDGE and CODE assessments never count.

The summary is one more assessment on the trace, `slack_bot_feedback` (source CODE,
`slack-bot`), whose value is "<counted> <👍> <👎> <channel> <kind>" (kind: where the question
was asked, one of CONVERSATION_KINDS, `-` when the trace does not say), followed by
" low <score> <👎>" when the score (1–5) is below 3: a candidate for the lowest-rated, found
by the end of its value (`rank_pattern`). The delivery writes it with an answer's first
feedback and updates it in place after each write. MLflow's trace metrics count and average
assessments by name and value, but cannot tell a HUMAN assessment from a judge's, count
answers rather than assessments, or group by a tag; grouping the summaries by value gives
the report the answers with feedback and the 👍/👎 of each channel and of each kind of
conversation (bot/report/figures/aggregated.py). Values written before the kind was in them
("<counted> <👍> <👎> <channel>", then the low part) are still read: `tells_kind` is False.

Only answers with feedback have one. An answer born with a summary would let the report count
every answer by channel and kind in that same request, but every trace would then carry an
assessment, and the analysis MLflow's feedback guide starts from (a trace with any assessment
is one "with feedback") would call every answer rated (bench/notes.md, goal 6).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.tracing.data_model import (
    CONVERSATION_KINDS,
    HIGHEST_SCORE,
    LOWEST_SCORE,
    RATING_DIMENSIONS,
    RATINGS,
    VOTE,
    rating_score,
)

HUMAN = "HUMAN"  # mlflow's AssessmentSourceType.HUMAN
SUMMARY = "slack_bot_feedback"
SUMMARY_SOURCE_TYPE = "CODE"
SUMMARY_SOURCE_ID = "slack-bot"
# The summary's metadata `meaning` (its rationale says its value in words).
SUMMARY_MEANING = (
    "the bot's count of the people's feedback on this answer, kept after every vote and "
    "rating; value: <counted> <👍> <👎> <channel> <where it was asked>, then low <score 1-5> "
    "<👎> when the score is below 3 (the feedback report reads it)"
)
# An answer is "negative" with a 👎 or a rating at or below this (1–5).
NEGATIVE_RATING = 2.0
# How a vote counts in an answer's score on the 1–5 scale.
UP_SCORE = float(HIGHEST_SCORE)
DOWN_SCORE = float(LOWEST_SCORE)
# Answers scoring below this are candidates for the lowest-rated.
LOW_SCORE_BELOW = 3.0
LOW = "low"
NOT_SAID = "-"  # the channel or kind, when the trace does not say

DIMENSION_OF = dict(zip(RATINGS, RATING_DIMENSIONS, strict=True))


@dataclass(frozen=True, slots=True)
class CountedAssessment:
    """An assessment that counts: a vote (`positive` set) or a rating (`dimension`, `score`)."""

    user: str
    positive: bool | None = None
    dimension: str | None = None
    score: float = 0.0  # a rating's, 1–5


def counted(
    name: str, value: Any, source_type: str | None, source_id: str | None, valid: bool | None
) -> CountedAssessment | None:
    """The assessment as feedback, or None when it does not count."""
    if not from_people(valid, source_type, source_id) or source_id is None:
        return None
    if name == VOTE:
        return CountedAssessment(source_id, positive=value) if isinstance(value, bool) else None
    if name in DIMENSION_OF and (stored := rating_value_of(value)) is not None:
        score = round(rating_score(stored), 3)
        return CountedAssessment(source_id, dimension=DIMENSION_OF[name], score=score)
    return None


def from_people(valid: bool | None, source_type: str | None, source_id: str | None) -> bool:
    """A valid assessment by a person (HUMAN, with a `source_id`)."""
    return valid is not False and source_type == HUMAN and bool(source_id)


def rating_value_of(value: object) -> float | None:
    """A stored rating (0 < value <= 1), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 < value <= 1 else None


def answer_score(votes: Iterable[bool], rating_scores: Iterable[float]) -> float | None:
    """The mean, on 1–5, of every vote (👍 = 5, 👎 = 1) and then every rating; None without."""
    scores = [UP_SCORE if positive else DOWN_SCORE for positive in votes]
    scores += list(rating_scores)
    return sum(scores) / len(scores) if scores else None


@dataclass(frozen=True)
class Summary:
    """A `slack_bot_feedback` value: the counted assessments of one answer."""

    counted: int
    up: int
    down: int
    channel: str | None
    score: float | None  # only below LOW_SCORE_BELOW
    kind: str | None = None  # one of CONVERSATION_KINDS; None when the trace does not say
    tells_kind: bool = True  # False for a value written before it said where it was asked

    @property
    def value(self) -> str:
        text = f"{self.counted} {self.up} {self.down} {self.channel or NOT_SAID}"
        if self.tells_kind:
            text += f" {self.kind or NOT_SAID}"
        return text if self.score is None else f"{text} {LOW} {self.score!r} {self.down}"

    @property
    def rationale(self) -> str:
        """The value in words (the value keeps its shape: the report searches and parses it)."""
        ratings = self.counted - self.up - self.down
        counts = "vote or rating counts" if self.counted == 1 else "votes and ratings count"
        where = self.kind.replace("_", " ") if self.kind else "a conversation not recorded"
        text = (
            f"{self.counted} {counts} on this answer: {self.up} 👍, {self.down} 👎 and "
            f"{ratings} rating{'' if ratings == 1 else 's'}, "
            f"in {self.channel or 'no channel known'} ({where}); "
        )
        below, highest = f"{LOW_SCORE_BELOW:g}", f"{HIGHEST_SCORE}"
        if self.score is not None:
            return text + (
                f"score {self.score!r} of {highest}, below {below}: a candidate for the "
                "report's lowest-rated answers."
            )
        if self.counted == 0:
            return text + "no score."
        return text + f"score {below} of {highest} or more."

    @property
    def rank_pattern(self) -> str:
        """A SQL LIKE pattern for the stored (JSON) values of the candidates with this one's
        score and 👎: they end so (`_` is the closing quote)."""
        return f"% {LOW} {self.score!r} {self.down}_"

    @classmethod
    def of(
        cls, assessments: Iterable[CountedAssessment], channel: str | None, kind: str | None
    ) -> Summary:
        """The summary of an answer's counted assessments, asked in `channel` (a trace's tags
        say where: a kind that is not one of CONVERSATION_KINDS is not said)."""
        every = list(assessments)
        votes = [a.positive for a in every if a.positive is not None]
        score = answer_score(votes, (a.score for a in every if a.dimension is not None))
        return cls(
            counted=len(every),
            up=sum(votes),
            down=len(votes) - sum(votes),
            channel=channel or None,
            score=score if score is not None and score < LOW_SCORE_BELOW else None,
            kind=kind if kind in CONVERSATION_KINDS else None,
        )

    @classmethod
    def parse(cls, value: str) -> Summary | None:
        """The summary a value holds (with a kind or, written earlier, without); None for
        anything else."""
        parts = value.split(" ")
        tells_kind = len(parts) in (5, 8)
        if len(parts) not in (4, 5, 7, 8) or not all(p.isdigit() for p in parts[:3]):
            return None
        kind = parts[4] if tells_kind else NOT_SAID
        if kind != NOT_SAID and kind not in CONVERSATION_KINDS:
            return None
        low = parts[5:] if tells_kind else parts[4:]
        if low and (low[0] != LOW or low[2] != parts[2]):
            return None
        try:
            score = float(low[1]) if low else None
        except ValueError:
            return None
        counted_, up, down = (int(p) for p in parts[:3])
        return cls(
            counted_,
            up,
            down,
            channel=None if parts[3] == NOT_SAID else parts[3],
            score=score,
            kind=None if kind == NOT_SAID else kind,
            tells_kind=tells_kind,
        )
