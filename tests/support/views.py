"""Reading the rating modal as a person sees it."""

from __future__ import annotations

from typing import Any

from bot.tracing.data_model import RATING_DIMENSIONS


def initial_scores(view: dict[str, Any]) -> dict[str, str | None]:
    """The score shown selected for each dimension when the modal opens (None: none)."""
    scores: dict[str, str | None] = {}
    for block in view["blocks"]:
        if block.get("block_id") in RATING_DIMENSIONS:
            initial = block["element"].get("initial_option")
            scores[block["block_id"]] = initial["value"] if initial else None
    return scores
