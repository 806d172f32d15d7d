"""The bot's messages and its rating modal as built (fast layer): what Slack is sent, checked
by the Slack emulator's own Block Kit validation, and what a submission is read as."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.feedback.recorder import COMMENT_MAX_CHARS, CurrentRatings
from bot.slack.answer_message import (
    FALLBACK_TEXT_LIMIT,
    MARKDOWN_LIMIT,
    answer_blocks,
    answer_metadata,
    fallback_text,
    feedback_blocks,
    split_markdown,
)
from bot.tracing.data_model import RATING_DIMENSIONS
from devkit.ids import new_trace_id
from devkit.slack_api import MESSAGE_BLOCKS_LIMIT, MODAL_BLOCKS_LIMIT, _validate_blocks
from devkit.slack_payloads import rating_submission
from handlers.views.rating_modal import (
    MetadataSigner,
    RatingForm,
    RatingTarget,
    TamperedMetadata,
    rating_view,
    read_submission,
)
from tests.support.views import initial_scores

# -- the answer -------------------------------------------------------------------------------


def _as_sent(blocks: list) -> list[dict]:
    return [block.to_dict() for block in blocks]


def test_an_answer_is_its_markdown_then_feedback_buttons_carrying_its_trace() -> None:
    trace_id = new_trace_id()
    blocks = _as_sent(answer_blocks("**Hi**", trace_id))
    _validate_blocks(blocks, MESSAGE_BLOCKS_LIMIT)
    assert blocks[0] == {"type": "markdown", "text": "**Hi**"}
    buttons = blocks[1]["elements"][0]
    assert buttons["positive_button"]["value"] == f"positive:{trace_id}"
    assert buttons["negative_button"]["value"] == f"negative:{trace_id}"
    assert blocks[2]["elements"][0]["value"] == trace_id
    assert len({b["block_id"] for b in blocks[1:]}) == 2


def test_a_blank_answer_is_only_its_feedback_controls() -> None:
    trace_id = new_trace_id()
    assert _as_sent(answer_blocks(" \n", trace_id)) == _as_sent(feedback_blocks(trace_id))


def test_the_metadata_names_the_trace() -> None:
    trace_id = new_trace_id()
    assert answer_metadata(trace_id).to_dict() == {
        "event_type": "genai_response",
        "event_payload": {"trace_id": trace_id},
    }


def test_long_answers_split_at_paragraphs_then_lines_then_words() -> None:
    paragraph = ("word " * 30).strip()  # 149 characters
    two = f"{paragraph}\n\n{paragraph}"
    assert split_markdown("\n\n".join([paragraph] * 5), limit=400) == [two, two, paragraph]
    lines = "\n".join([paragraph] * 3)
    assert split_markdown(lines, limit=400) == [f"{paragraph}\n{paragraph}", paragraph]
    assert split_markdown("a" * 10 + " " + "b" * 10, limit=12) == ["a" * 10, "b" * 10]
    assert split_markdown("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_markdown("", limit=10) == [""]
    assert split_markdown("short") == ["short"]


@given(st.text(alphabet=st.sampled_from("ab \n"), max_size=3000))
def test_splitting_loses_nothing_but_whitespace_and_keeps_every_part_in_the_limit(
    text: str,
) -> None:
    parts = split_markdown(text, limit=100)
    assert all(len(part) <= 100 for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_the_default_limit_is_slacks_markdown_limit() -> None:
    parts = split_markdown("y" * (MARKDOWN_LIMIT + 1))
    assert [len(p) for p in parts] == [MARKDOWN_LIMIT, 1]


def test_the_notification_text_is_cut_with_an_ellipsis() -> None:
    assert fallback_text("z" * FALLBACK_TEXT_LIMIT) == "z" * FALLBACK_TEXT_LIMIT
    cut = fallback_text("z" * (FALLBACK_TEXT_LIMIT + 1))
    assert len(cut) == FALLBACK_TEXT_LIMIT and cut.endswith("…")


# -- the rating modal -------------------------------------------------------------------------

SIGNER = MetadataSigner("a-signing-secret")


def _target(thread_ts: str | None = None) -> RatingTarget:
    return RatingTarget(new_trace_id(), "C1", "1700000000.000100", thread_ts)


def test_the_modal_asks_each_dimension_on_a_1_to_5_scale_and_an_optional_comment() -> None:
    view = rating_view(_target(), CurrentRatings({}, None), SIGNER).to_dict()
    _validate_blocks(view["blocks"], MODAL_BLOCKS_LIMIT)
    assert initial_scores(view) == dict.fromkeys(RATING_DIMENSIONS)
    for block in view["blocks"]:
        if block.get("block_id") in RATING_DIMENSIONS:
            values = [o["value"] for o in block["element"]["options"]]
            assert values == ["1", "2", "3", "4", "5"] and not block.get("optional")
    comment, correction = view["blocks"][-2:]
    assert comment["optional"] is True
    assert comment["element"]["max_length"] == COMMENT_MAX_CHARS
    assert "initial_value" not in comment["element"]
    assert correction["block_id"] == "correction" and correction["optional"] is True
    assert correction["label"]["text"] == "What should the answer have said?"
    assert correction["element"]["multiline"] is True
    assert correction["element"]["max_length"] == 3000
    assert "initial_value" not in correction["element"]
    assert "earlier ratings" not in json.dumps(view["blocks"][0])


def test_earlier_ratings_comment_and_correction_are_filled_in() -> None:
    current = CurrentRatings({"accuracy": 1, "relevance": 5}, "too long", "Say 42.\x07 <@U1>")
    view = rating_view(_target(), current, SIGNER).to_dict()
    assert initial_scores(view) == {"accuracy": "1", "helpfulness": None, "relevance": "5"}
    assert view["blocks"][-2]["element"]["initial_value"] == "too long"
    assert view["blocks"][-1]["element"]["initial_value"] == "Say 42.\x07 <@U1>"
    assert "earlier ratings are filled in" in json.dumps(view["blocks"][0])


@pytest.mark.parametrize("thread_ts", [None, "1700000000.000001"])
def test_the_modal_comes_back_to_the_answer_it_was_opened_for(thread_ts: str | None) -> None:
    target = _target(thread_ts)
    view = rating_view(target, CurrentRatings({}, None), SIGNER).to_dict()
    assert SIGNER.load(view["private_metadata"]) == target


def test_a_changed_or_foreign_form_is_refused() -> None:
    target = _target()
    metadata = SIGNER.dump(target)
    other = new_trace_id()
    for tampered in (
        metadata.replace(target.trace_id, other),
        metadata.replace("C1", "C2"),
        metadata[:-3],
        "",
        None,
        "[]",
        json.dumps({"p": {"t": target.trace_id}, "s": 1}),
        MetadataSigner("another-secret").dump(target),
    ):
        with pytest.raises(TamperedMetadata):
            SIGNER.load(tampered)
    with pytest.raises(TamperedMetadata):
        SIGNER.load(SIGNER.dump(RatingTarget("tr-not-hex", "C1", "1.2")))


def _submitted(scores: dict[str, str | None], comment: object = None) -> object:
    values = rating_submission({}, "U1", scores)["view"]["state"]["values"]
    values["comment"]["comment"]["value"] = comment
    return values


def test_a_complete_submission_is_read_with_its_trimmed_comment_optional() -> None:
    scores = {"accuracy": "1", "helpfulness": "3", "relevance": "5"}
    assert read_submission(_submitted(scores)) == RatingForm(
        {"accuracy": 1, "helpfulness": 3, "relevance": 5}, None
    )
    form = read_submission(_submitted(scores, "fine"))
    assert isinstance(form, RatingForm) and form.comment == "fine"
    assert read_submission(_submitted(scores, "")) == RatingForm(
        {"accuracy": 1, "helpfulness": 3, "relevance": 5}, None
    )


@pytest.mark.parametrize("bad", [None, "0", "6", "3.0", " 3", "x"])
def test_a_missing_or_out_of_scale_score_is_an_error_on_its_block(bad: str | None) -> None:
    errors = read_submission(_submitted({"accuracy": "2", "helpfulness": bad, "relevance": "2"}))
    assert errors == {"helpfulness": "Please choose a score from 1 to 5."}


def test_a_comment_too_long_or_not_text_is_an_error_on_the_comment() -> None:
    scores = dict.fromkeys(RATING_DIMENSIONS, "4")
    assert read_submission(_submitted(scores, "c" * COMMENT_MAX_CHARS)) == RatingForm(
        dict.fromkeys(RATING_DIMENSIONS, 4), "c" * COMMENT_MAX_CHARS
    )
    too_long = read_submission(_submitted(scores, "c" * (COMMENT_MAX_CHARS + 1)))
    assert too_long == {
        "comment": f"Please keep the comment to {COMMENT_MAX_CHARS} characters or fewer."
    }
    assert read_submission(_submitted(scores, 12)) == {"comment": "The comment must be text."}


def test_a_correction_is_read_as_typed_an_empty_one_is_none_a_long_one_an_error() -> None:
    scores = dict.fromkeys(RATING_DIMENSIONS, "4")

    def with_correction(text: object) -> object:
        values = _submitted(scores)
        assert isinstance(values, dict)
        values["correction"] = {"correction": {"type": "plain_text_input", "value": text}}
        return read_submission(values)

    typed = " Say <@U1> *42*\x00\x07 &amp;\n"
    assert with_correction(typed) == RatingForm(dict.fromkeys(RATING_DIMENSIONS, 4), None, typed)
    assert with_correction("x" * 3000) == RatingForm(
        dict.fromkeys(RATING_DIMENSIONS, 4), None, "x" * 3000
    )
    for empty in (None, "", "  \n "):
        form = with_correction(empty)
        assert isinstance(form, RatingForm) and form.correction is None
    assert with_correction("x" * 3001) == {
        "correction": "Please keep the answer to 3000 characters or fewer."
    }
    assert with_correction(["x"]) == {"correction": "The answer must be text."}


@pytest.mark.parametrize("state", [None, [], "x", {"accuracy": "5"}, {"accuracy": {"score": 1}}])
def test_a_state_of_another_shape_is_errors_not_a_crash(state: object) -> None:
    errors = read_submission(state)
    assert isinstance(errors, dict) and set(errors) == set(RATING_DIMENSIONS)


def test_the_modal_as_a_person_sees_it() -> None:
    view = rating_view(_target(), CurrentRatings({"accuracy": 2}, None), SIGNER).to_dict()
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Rate this answer",
        "Submit rating",
        "Cancel",
    )
    assert view["blocks"][0]["elements"][0]["text"] == (
        "Rate this answer from 1 (poor) to 5 (excellent). Your earlier ratings are filled in."
    )
    questions = [
        (b["label"]["text"], b["hint"]["text"], b["element"]["placeholder"]["text"])
        for b in view["blocks"][1:4]
    ]
    assert questions == [
        ("Accuracy", "Is the answer correct?", "Choose 1–5"),
        ("Helpfulness", "Did it help you get your job done?", "Choose 1–5"),
        ("Relevance", "Does it answer what you asked?", "Choose 1–5"),
    ]
    options = view["blocks"][1]["element"]["options"]
    assert [o["text"]["text"] for o in options] == [
        "1 · Poor",
        "2 · Fair",
        "3 · Good",
        "4 · Very good",
        "5 · Excellent",
    ]
    comment = view["blocks"][4]
    assert comment["label"]["text"] == "Comment" and comment["element"]["multiline"] is True
    assert comment["element"]["placeholder"]["text"] == "What was good or missing? (optional)"
    first = rating_view(_target(), CurrentRatings({}, None), SIGNER).to_dict()
    assert first["blocks"][0]["elements"][0]["text"] == (
        "Rate this answer from 1 (poor) to 5 (excellent). "
    )


def test_the_submission_is_read_from_the_blocks_and_actions_the_modal_declares() -> None:
    view = rating_view(_target(), CurrentRatings({}, None), SIGNER).to_dict()
    declared = {b["block_id"]: b["element"]["action_id"] for b in view["blocks"][1:]}
    values = {
        block: {action: {"selected_option": {"value": "4"}, "value": "why"}}
        for block, action in declared.items()
    }
    assert read_submission(values) == RatingForm(dict.fromkeys(RATING_DIMENSIONS, 4), "why", "why")
