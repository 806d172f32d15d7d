"""How much of an expected response an answer says, without an LLM: the share of the expected
text's distinct words (letters and digits, case-folded) that the answer contains.

Recall rather than a symmetric measure: a correct answer is usually longer than the correction
it is checked against, and should not lose for the words it adds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"\w+")
# Without an LLM, an answer passes a correction when it has at least this share of its words.
MIN_SIMILARITY = 0.5


@dataclass(frozen=True)
class Overlap:
    found: int  # distinct words of the expected text the answer has
    expected: int  # distinct words of the expected text

    @property
    def score(self) -> float:
        return self.found / self.expected if self.expected else 0.0


def words(text: str) -> set[str]:
    return {word.casefold() for word in WORD.findall(text)}


def overlap(answer: str, expected: str) -> Overlap:
    wanted = words(expected)
    return Overlap(len(wanted & words(answer)), len(wanted))
