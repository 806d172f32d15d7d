"""Answers into the evaluation dataset from Slack: the report's "Add to dataset" (admins only)
and DATASET_AUTO_ADD, through the store, read back with full mlflow."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from bot.dataset.writer import DatasetWriter
from devkit.conversation import open_rating_modal, trace_id_of
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import (
    Workspace,
    action,
    block_actions,
    message_container,
    person,
    rating_submission,
    vote_click,
)
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually
from tests.support.dataset_readback import by_trace, read_dataset
from tests.support.report_commands import ADMIN, report_message, run_command
from tests.support.stack import Stack, answers_for, timed

LOW = {"accuracy": "1", "helpfulness": "1", "relevance": "2"}


def add_buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's "Add to dataset" buttons by the text of their section."""
    blocks = message["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return {
        b["text"]["text"]: b["accessory"]
        for b in blocks
        if b.get("accessory", {}).get("action_id") == "dataset_add"
    }


def click(
    slack: SlackEmulator, button: dict[str, Any], user: str, value: str | None = None
) -> tuple[dict[str, Any], str]:
    """A click on the ephemeral report's button (no `message` in the payload); its
    response_url key."""
    key = new_id("R")
    workspace = Workspace.of(slack)
    element = {**button, "value": value if value is not None else button["value"]}
    payload = block_actions(
        workspace,
        action({}, element, block_id="low"),
        user=person(workspace, user),
        channel="C0ADMINS",
        channel_name="admins",
        container=message_container("C0ADMINS", {"ts": "1700000000.000100"}, ephemeral=True),
        trigger_id=slack.new_trigger(),
        response_url=f"{slack.base_url}/response/{key}",
        message=None,
    )
    return payload, key


async def notes_to(slack: SlackEmulator, user: str, text: str) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]]:
        notes = [e for e in slack.ephemeral if e["user"] == user and text in e["text"]]
        assert notes
        return notes

    return await eventually(found, timeout_s=15)


async def corrected_answer(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking, text: str
) -> dict[str, Any]:
    """A new answer rated low with a 👎, a correction, and the correction on the server."""
    (answer,) = await answers_for(sender, slack, 1, tracking)
    rater = new_id("U")
    await sender.interaction(vote_click(slack, answer, rater, positive=False))
    view = await open_rating_modal(sender, slack, answer, rater)
    await sender.interaction(rating_submission(view, rater, LOW, "wrong", correction=text))

    async def landed() -> bool:
        found = await tracking.valid_assessments(trace_id_of(answer), "expected_response")
        assert [a.value for a in found] == [text]
        return True

    await eventually(landed, timeout_s=60)
    return answer


def root_span(tracking: Tracking, trace_id: str) -> Any:
    trace = tracking.client.get_trace(trace_id)
    return next(s for s in trace.data.spans if s.parent_id is None)


@pytest.mark.slow
async def test_an_admins_add_to_dataset_makes_one_record_equal_to_the_trace(
    stack: Stack, slack: SlackEmulator
) -> None:
    dataset = f"ds-{uuid.uuid4().hex[:8]}"
    stack.env["FEEDBACK_DATASET"] = dataset
    _, sender = await stack.start_bot()
    tracking = stack.tracking()
    answer = await corrected_answer(sender, slack, tracking, "Use vpn2 <@U1> *now*\x07")
    trace_id = trace_id_of(answer)
    writer = DatasetWriter(stack.server.url, stack.experiment, dataset)

    _, key = await run_command(sender, slack, ADMIN, "24h")
    (button,) = add_buttons(await report_message(slack, key)).values()
    assert button["text"]["text"] == "Add to dataset"

    # A non-admin's click and a forged one add nothing and say so.
    outsider = new_id("U")
    payload, _ = click(slack, button, outsider)
    elapsed, status, _ = await timed(sender.interaction(payload))
    assert status == 200 and elapsed < 3.0
    await notes_to(slack, outsider, "Only the bot's feedback admins")
    forged = button["value"].replace(trace_id, trace_id[:-4] + "beef")
    payload, _ = click(slack, button, ADMIN, forged)
    assert (await sender.interaction(payload))[0] == 200
    await notes_to(slack, ADMIN, "can't be used")
    await asyncio.sleep(2.0)
    assert await asyncio.to_thread(writer.probe) is None  # no dataset, so no record

    # The admin's click: answered at once; the button then reads "In dataset ✓".
    payload, key = click(slack, button, ADMIN)
    elapsed, status, _ = await timed(sender.interaction(payload))
    assert status == 200 and elapsed < 3.0
    redrawn = await report_message(slack, key)
    assert [b["text"]["text"] for b in add_buttons(redrawn).values()] == ["In dataset ✓"]

    async def one_record() -> dict[str, Any]:
        read = await asyncio.to_thread(read_dataset, stack.server.url, dataset)
        assert len(read["records"]) == 1
        return read

    read = await eventually(one_record, timeout_s=60, interval_s=1.0)
    record = by_trace(read)[trace_id]
    root = root_span(tracking, trace_id)
    assert record["inputs"] == root.inputs and record["inputs"]["question"]
    assert record["outputs"] == root.outputs and "answer" in record["outputs"]
    assert record["expectations"]["expected_response"] == "Use vpn2 <@U1> *now*\x07"
    assert record["source"]["source_type"] == "TRACE"
    assert record["tags"]["added_by"] == ADMIN and record["tags"]["votes.down"] == "1"
    experiment_id = tracking.experiment_id
    assert read["experiment_ids"] == [experiment_id]

    # A second add updates the same record; a new report shows it as added.
    first_update = record["last_update_time"]
    await asyncio.sleep(1.1)
    payload, _ = click(slack, button, ADMIN)
    assert (await sender.interaction(payload))[0] == 200

    async def updated() -> bool:
        read = await asyncio.to_thread(read_dataset, stack.server.url, dataset)
        assert len(read["records"]) == 1
        assert read["records"][0]["last_update_time"] > first_update
        return True

    await eventually(updated, timeout_s=60, interval_s=1.0)
    _, key = await run_command(sender, slack, ADMIN, "24h")
    buttons = add_buttons(await report_message(slack, key))
    assert [b["text"]["text"] for b in buttons.values()] == ["In dataset ✓"]


@pytest.mark.slow
async def test_auto_add_corrected_adds_an_answer_as_its_correction_lands_through_an_outage(
    stack: Stack, slack: SlackEmulator
) -> None:
    dataset = f"ds-{uuid.uuid4().hex[:8]}"
    stack.env.update(FEEDBACK_DATASET=dataset, DATASET_AUTO_ADD="corrected")
    _, sender = await stack.start_bot()
    tracking = stack.tracking()
    (answer, plain) = await answers_for(sender, slack, 2, tracking)
    rater = new_id("U")
    await sender.interaction(vote_click(slack, plain, rater, positive=False))  # not corrected
    view = await open_rating_modal(sender, slack, answer, rater)
    await asyncio.to_thread(stack.server.stop)
    elapsed, status, _ = await timed(
        sender.interaction(rating_submission(view, rater, LOW, None, correction="Say 42."))
    )
    assert status == 200 and elapsed < 3.0
    await asyncio.sleep(2.0)
    await asyncio.to_thread(stack.server.start)

    async def added() -> dict[str, Any]:
        read = await asyncio.to_thread(read_dataset, stack.server.url, dataset)
        assert list(by_trace(read)) == [trace_id_of(answer)]
        return read

    read = await eventually(added, timeout_s=90, interval_s=2.0)
    (record,) = read["records"]
    assert record["expectations"]["expected_response"] == "Say 42."
    assert record["tags"]["added_by"] == "auto:corrected"
