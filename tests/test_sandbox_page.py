"""The sandbox page in real Chromium, against a scripted Slack app.

The app stands in for any bot: it checks every request's Slack signature and answers with what
a Slack app can do (Block Kit with feedback buttons, a modal through views.open, errors from
`response_action`, ephemeral and `response_url` replies, a slash command). So everything the
sandbox does is tested here, whatever the real bot implements today.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Locator, Page, expect
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.assistant import GREETING, thread_title
from devkit.bot_process import BotProcess
from devkit.mlflow_server import MlflowServer
from devkit.traces import Tracking
from devkit.waiting import eventually
from sandbox import APP_ID, BOT_ID, BOT_USER_ID, CHANNEL_ID, DM_ID, SANDBOX_USER_ID, TEAM_ID
from sandbox.server import Sandbox
from tests.support.browser import chromium_page, screenshot, send
from tests.support.report_seed import FeedbackSeeder

TOKEN = "xoxb-sandbox-test-" + secrets.token_hex(8)
SECRET = secrets.token_hex(16)


def option(n: int) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": f"{n} stars"}, "value": str(n)}


ANSWER_BLOCKS = [
    {"type": "markdown", "text": "You said: **hello**"},
    {
        "type": "context_actions",
        "block_id": "votes",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": "vote",
                "positive_button": {"text": {"type": "plain_text", "text": "👍"}, "value": "up"},
                "negative_button": {"text": {"type": "plain_text", "text": "👎"}, "value": "down"},
            }
        ],
    },
    {
        "type": "actions",
        "block_id": "more",
        "elements": [
            {
                "type": "button",
                "action_id": "open_form",
                "text": {"type": "plain_text", "text": "Open form"},
                "value": "form-1",
            }
        ],
    },
]
METADATA = {"event_type": "demo_answer", "event_payload": {"answer": 1}}
HOME_VIEW = {
    "type": "home",
    "blocks": [
        {
            "type": "actions",
            "block_id": "picker",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "flavour",
                    "options": [option(1), option(2)],
                    "initial_option": option(1),
                }
            ],
        },
        {
            "type": "data_visualization",
            "title": "Flavours",
            "chart": {
                "type": "pie",
                "segments": [{"label": "sweet", "value": 3}, {"label": "sour", "value": 1}],
            },
        },
        {
            "type": "data_table",
            "caption": "Tasters",
            "rows": [
                [{"type": "raw_text", "text": "who"}, {"type": "raw_text", "text": "votes"}],
                [{"type": "raw_text", "text": "ann"}, {"type": "raw_number", "value": 4}],
            ],
        },
    ],
}
MODAL = {
    "type": "modal",
    "callback_id": "rating",
    "private_metadata": "pm-1",
    "title": {"type": "plain_text", "text": "Rate the answer"},
    "submit": {"type": "plain_text", "text": "Send"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {
            "type": "input",
            "block_id": "accuracy",
            "label": {"type": "plain_text", "text": "Accuracy"},
            "element": {
                "type": "static_select",
                "action_id": "score",
                "placeholder": {"type": "plain_text", "text": "Pick a score"},
                "options": [option(n) for n in range(1, 6)],
            },
        },
        {
            "type": "input",
            "block_id": "helpfulness",
            "label": {"type": "plain_text", "text": "Helpfulness"},
            "element": {
                "type": "radio_buttons",
                "action_id": "score",
                "options": [option(n) for n in range(1, 6)],
            },
        },
        {
            "type": "input",
            "block_id": "comment",
            "optional": True,
            "label": {"type": "plain_text", "text": "Comment"},
            "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
        },
    ],
}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


class ScriptedApp:
    """A Slack app over HTTP: verifies signatures like Bolt, answers like an app."""

    def __init__(self) -> None:
        self.verifier = SignatureVerifier(SECRET)
        self.client = AsyncWebClient(token=TOKEN)  # pointed at the sandbox once it runs
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.view_answers: list[web.Response] = []  # answers to the next view_submissions
        self._tasks: set[asyncio.Task] = set()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [p for p in self.received if p.get("type") == kind or p.get("command") == kind]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = request.headers
        if not self.verifier.is_valid(
            body, headers.get("X-Slack-Request-Timestamp", ""), headers.get("X-Slack-Signature", "")
        ):
            self.bad_signatures += 1
            return web.Response(status=401)
        if request.content_type == "application/json":
            payload = json.loads(body)
        else:
            form = parse_qs(body.decode())
            payload = (
                json.loads(form["payload"][0])
                if "payload" in form
                else {k: v[0] for k, v in form.items()}
            )
        self.received.append(payload)
        return await self.respond(payload)

    async def respond(self, p: dict[str, Any]) -> web.StreamResponse:
        if p.get("type") == "event_callback":
            event = p["event"]
            if event["type"] == "message" and event.get("channel_type") == "im":
                await self.client.chat_postMessage(
                    channel=event["channel"],
                    thread_ts=event["ts"],
                    text="You said: hello",
                    blocks=ANSWER_BLOCKS,
                    metadata=METADATA,
                )
            elif event["type"] == "app_home_opened":
                await self.client.views_publish(user_id=event["user"], view=HOME_VIEW)
        elif p.get("command") == "/feedback-report":
            self._later(self.post(p["response_url"], {"text": "Report: 1 vote, all 👍"}))
            return web.json_response({"response_type": "ephemeral", "text": "Working on it…"})
        elif p.get("type") == "block_actions":
            act = p["actions"][0]
            if act["type"] == "feedback_buttons":
                await self.post(p["response_url"], {"text": f"Thanks for your {act['value']}"})
            elif p["container"]["type"] == "view":
                chosen = act["selected_option"]["value"]
                view = {**HOME_VIEW, "blocks": [*HOME_VIEW["blocks"], header(f"chose {chosen}")]}
                await self.client.views_publish(user_id=p["user"]["id"], view=view)
            elif act["action_id"] == "open_form":
                await self.client.views_open(trigger_id=p["trigger_id"], view=MODAL)
        elif p.get("type") == "view_submission" and self.view_answers:
            return self.view_answers.pop(0)
        elif p.get("type") == "view_submission":
            if p["view"]["state"]["values"]["comment"]["text"]["value"] is None:
                return web.json_response(
                    {"response_action": "errors", "errors": {"comment": "Tell us why"}}
                )
            await self.client.chat_postEphemeral(channel=DM_ID, user=p["user"]["id"], text="Rated!")
        return web.Response()

    async def post(self, url: str, body: dict[str, Any]) -> None:
        async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
            assert response.status == 200

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


@pytest.fixture
async def sandbox_and_app() -> AsyncIterator[tuple[Sandbox, ScriptedApp]]:
    app = ScriptedApp()
    app_server = web.Application()
    app_server.router.add_post("/slack/events", app.handle)
    runner = web.AppRunner(app_server, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sandbox = Sandbox(bot_url=f"http://127.0.0.1:{port}", bot_token=TOKEN, signing_secret=SECRET)
    await sandbox.start()
    app.client.base_url = sandbox.slack.api_url
    yield sandbox, app
    await sandbox.stop()
    await runner.cleanup()


async def wait_for(predicate: Any, timeout_s: float = 10.0) -> Any:
    for _ in range(int(timeout_s * 20)):
        result = predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise TimeoutError("never happened")


@pytest.mark.slow  # starts a process
async def test_the_page_sends_slacks_requests_and_shows_what_the_app_answers(
    sandbox_and_app: tuple[Sandbox, ScriptedApp],
) -> None:
    sandbox, app = sandbox_and_app
    async with chromium_page() as page:
        await page.goto(sandbox.url)

        # A DM: a `message` event (channel_type im); the app's Block Kit answer in the thread.
        await send(page, "hello *there*")
        answer = page.locator(".thread .msg.from-bot")
        await expect(answer).to_contain_text("You said: hello")
        await expect(answer.locator("strong")).to_have_text("hello")
        await expect(answer.locator("button.feedback")).to_have_count(2)
        event = app.of_type("event_callback")[0]
        assert event["team_id"] == TEAM_ID and event["api_app_id"] == APP_ID
        assert event["authorizations"][0]["user_id"] == BOT_USER_ID
        assert event["event_id"].startswith("Ev")
        dm = event["event"]
        assert dm["type"] == "message" and dm["channel_type"] == "im"
        assert (dm["channel"], dm["user"], dm["text"]) == (DM_ID, SANDBOX_USER_ID, "hello *there*")
        assert dm["event_ts"] == dm["ts"] and dm["blocks"][0]["type"] == "rich_text"
        answer_message = sandbox.slack.bot_messages(DM_ID)[0]

        # 👍: a block_actions carrying the clicked message; the response_url reply shows.
        await answer.locator("button.feedback[data-choice=positive]").click()
        await expect(page.locator(".msg.kind-response")).to_contain_text("Thanks for your up")
        await expect(page.locator(".msg.kind-response .only-you")).to_be_visible()
        click = app.of_type("block_actions")[0]
        assert click["actions"][0]["type"] == "feedback_buttons"
        assert click["actions"][0]["action_id"] == "vote"
        assert click["actions"][0]["block_id"] == "votes"
        assert click["actions"][0]["value"] == "up"
        assert click["user"]["id"] == SANDBOX_USER_ID and click["team"]["id"] == TEAM_ID
        assert click["container"] == {
            "type": "message",
            "message_ts": answer_message["ts"],
            "channel_id": DM_ID,
            "is_ephemeral": False,
            "thread_ts": dm["ts"],
        }
        message = click["message"]
        assert message["metadata"] == METADATA
        assert (message["bot_id"], message["app_id"]) == (BOT_ID, APP_ID)
        assert message["blocks"] == ANSWER_BLOCKS and message["ts"] == answer_message["ts"]
        assert click["trigger_id"] and click["response_url"].startswith(sandbox.url + "/response/")

        # A button that opens a modal through views.open with the trigger_id.
        await answer.get_by_role("button", name="Open form").click()
        modal = page.locator("#modal")
        await expect(modal.locator("#modal-title")).to_have_text("Rate the answer")
        await expect(modal.locator("textarea")).to_be_visible()

        # Required inputs left empty: Slack's client refuses, the app hears nothing.
        await modal.get_by_role("button", name="Send").click()
        required = modal.locator("[data-error-for=accuracy]")
        await expect(required).to_have_text("Please complete this required field.")
        await expect(modal.locator("[data-error-for=helpfulness]")).not_to_be_empty()
        assert app.of_type("view_submission") == []

        # The app answers `response_action: errors`: the modal stays, showing them.
        await modal.locator("[data-block-id=accuracy] select").select_option("4")
        await modal.locator("[data-block-id=helpfulness] input[value='5']").check()
        await modal.get_by_role("button", name="Send").click()
        await expect(modal.locator("[data-error-for=comment]")).to_have_text("Tell us why")
        await expect(required).to_be_empty()
        await screenshot(page, "sandbox-modal.png")
        first = app.of_type("view_submission")[0]
        view = first["view"]
        assert (view["callback_id"], view["private_metadata"]) == ("rating", "pm-1")
        assert view["id"] in sandbox.slack.views and first["user"]["id"] == SANDBOX_USER_ID
        assert view["state"]["values"] == {
            "accuracy": {"score": {"type": "static_select", "selected_option": option(4)}},
            "helpfulness": {"score": {"type": "radio_buttons", "selected_option": option(5)}},
            "comment": {"text": {"type": "plain_text_input", "value": None}},
        }

        # Fixed and sent: an empty 200 closes it; the app's ephemeral message shows.
        await modal.locator("textarea").fill("Clear and right.")
        await modal.get_by_role("button", name="Send").click()
        await expect(page.locator("#modal-backdrop")).to_be_hidden()
        await expect(page.locator(".msg.kind-ephemeral")).to_contain_text("Rated!")
        values = app.of_type("view_submission")[1]["view"]["state"]["values"]
        assert values["comment"]["text"]["value"] == "Clear and right."

        # A slash command: its immediate answer, then what the app posts to response_url. The
        # text comes as Slack sends it with "Escape channels, users, and links" on (manifest).
        await send(page, "/feedback-report last 7 days in #general & for @you")
        responses = page.locator(".msg.kind-response")
        await expect(responses.filter(has_text="Working on it…")).to_have_count(1)
        await expect(responses.filter(has_text="Report: 1 vote, all 👍")).to_have_count(1)
        command = app.of_type("/feedback-report")[0]
        assert (command["text"], command["user_id"], command["channel_id"]) == (
            f"last 7 days in <#{CHANNEL_ID}|general> &amp; for <@{SANDBOX_USER_ID}|you>",
            SANDBOX_USER_ID,
            DM_ID,
        )
        assert command["team_id"] == TEAM_ID and command["trigger_id"]
        assert command["response_url"].startswith(sandbox.url + "/response/")
        await screenshot(page, "sandbox-scripted-app.png")

        # In the channel, an @mention: Slack sends both a `message` and an `app_mention`.
        await page.locator(f"[data-conversation={CHANNEL_ID}]").click()
        await send(page, "@bot where is the wiki?")
        # Slack sends them one after the other: wait for both, not the first.
        await wait_for(lambda: len(app.of_type("event_callback")) == 3)
        events = app.of_type("event_callback")[1:]
        message_event, mention = events[0]["event"], events[1]["event"]
        assert message_event["type"] == "message" and message_event["channel_type"] == "channel"
        assert mention["type"] == "app_mention" and "channel_type" not in mention
        assert message_event["text"] == mention["text"] == f"<@{BOT_USER_ID}> where is the wiki?"
        assert message_event["ts"] == mention["ts"] and mention["channel"] == CHANNEL_ID
        assert events[0]["event_id"] != events[1]["event_id"]
        await expect(page.locator("#messages .mention")).to_have_text("@genai-bot")

        # A channel typed by name goes as Slack's link to it and shows as its name; a code
        # block shows its lines, without a blank line before or after them.
        await send(page, "see #general:\n```\nprint(1)\n```")
        await wait_for(lambda: len(app.of_type("event_callback")) == 4)
        typed = app.of_type("event_callback")[3]["event"]["text"]
        assert typed == f"see <#{CHANNEL_ID}>:\n```\nprint(1)\n```"
        shown = page.locator("#messages .msg.from-person").last
        await expect(shown.locator(".mention")).to_have_text("#general")
        code = await shown.locator("pre").evaluate("pre => pre.textContent")
        assert code == "print(1)"

        # Every request was signed with the app's secret and taken.
        await expect(page.locator("#deliveries li.pending")).to_have_count(0)
        statuses = await page.locator("#deliveries li").evaluate_all(
            "items => items.map(i => i.dataset.status)"
        )
        assert statuses and set(statuses) == {"200"}
        assert app.bad_signatures == 0


@pytest.mark.slow  # starts a process
async def test_the_home_tab_shows_the_apps_view_charts_and_tables_and_sends_its_clicks(
    sandbox_and_app: tuple[Sandbox, ScriptedApp],
) -> None:
    sandbox, app = sandbox_and_app
    async with chromium_page() as page:
        await page.goto(sandbox.url)
        await page.locator("[data-conversation=home]").click()
        home = page.locator(".home-view")
        await expect(home.locator("figure.chart[data-chart-type=pie] path")).to_have_count(2)
        await expect(home.locator(".legend")).to_contain_text("sweet (3)")
        await expect(home.locator(".data-table tbody tr td.number")).to_have_text("4")
        [opened] = [
            p["event"]
            for p in app.of_type("event_callback")
            if p["event"]["type"] == "app_home_opened"
        ]
        assert opened["user"] == SANDBOX_USER_ID and opened["tab"] == "home"
        await home.locator("select[data-act=select]").select_option("2")
        await expect(home.locator(".header")).to_have_text("chose 2")
        [click] = app.of_type("block_actions")
        assert click["container"]["type"] == "view" and "response_url" not in click
        assert click["view"]["id"] == sandbox.slack.home_views[SANDBOX_USER_ID]["id"]


@pytest.mark.slow  # starts a process
async def test_an_app_that_is_down_or_refuses_is_shown_as_slack_would(
    sandbox_and_app: tuple[Sandbox, ScriptedApp],
) -> None:
    sandbox, app = sandbox_and_app
    sandbox.sender.verifier = SignatureVerifier("not-the-apps-secret")
    async with chromium_page() as page:
        await page.goto(sandbox.url)
        await send(page, "/feedback-report")
        await expect(page.locator(".msg.sender-slackbot")).to_contain_text(
            "/feedback-report failed: the app answered HTTP 401"
        )
        await expect(page.locator("#deliveries li[data-status='401']")).to_have_count(1)
    assert app.bad_signatures == 1 and app.received == []


async def test_response_actions_update_push_and_clear_modals_and_closing_notifies(
    sandbox_and_app: tuple[Sandbox, ScriptedApp],
) -> None:
    sandbox, app = sandbox_and_app
    filled = {"0": "3", "1": "2", "2": "fine"}

    def titled(title: str, **extra: Any) -> dict[str, Any]:
        return {**MODAL, "title": {"type": "plain_text", "text": title}, **extra}

    async with aiohttp.ClientSession(base_url=sandbox.url) as page:

        async def submit() -> dict[str, Any]:
            modal = sandbox.state()["modal"]
            body = {"view_id": modal["id"], "values": filled}
            async with page.post("/sandbox/view_submission", json=body) as response:
                assert response.status == 200
            return modal

        await app.client.views_open(trigger_id=sandbox.slack.new_trigger(), view=MODAL)
        app.view_answers = [
            web.json_response({"response_action": "update", "view": titled("Step 2")}),
            web.json_response({"response_action": "push", "view": titled("Step 3")}),
            web.Response(status=500),
            web.json_response({"response_action": "clear"}),
        ]
        first = await submit()
        updated = sandbox.state()["modal"]
        assert updated["id"] == first["id"] and updated["view"]["title"]["text"] == "Step 2"
        await submit()
        pushed = sandbox.state()["modal"]
        assert pushed["id"] != first["id"] and pushed["view"]["title"]["text"] == "Step 3"
        assert sandbox.slack.modals == [first["id"], pushed["id"]]
        await submit()
        assert "HTTP 500" in sandbox.state()["modal"]["errors"][""]
        await submit()
        assert sandbox.state()["modal"] is None

        opened = await app.client.views_open(
            trigger_id=sandbox.slack.new_trigger(), view=titled("Bye", notify_on_close=True)
        )
        view_id = opened["view"]["id"]
        async with page.post("/sandbox/view_close", json={"view_id": view_id}) as response:
            assert response.status == 200
        assert sandbox.state()["modal"] is None
        [closed] = app.of_type("view_closed")
        assert closed["view"]["id"] == view_id and closed["user"]["id"] == SANDBOX_USER_ID
        submitted = app.of_type("view_submission")[0]["view"]["state"]["values"]
        assert submitted["comment"]["text"] == {"type": "plain_text_input", "value": "fine"}
        assert submitted["accuracy"]["score"]["selected_option"] == option(3)


# -- the real bot in the sandbox: the 👎 follow-up, reactions, the report ----------------------


@pytest.fixture
async def sandbox_with_bot(
    bot_env: dict[str, str], mlflow_server: MlflowServer, tmp_root: Path
) -> AsyncIterator[tuple[Sandbox, Tracking]]:
    """The sandbox and a bot process of their own (own experiment and data dir)."""
    experiment = f"sandbox-{secrets.token_hex(4)}"
    env = {
        **bot_env,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "MLFLOW_EXPERIMENT_NAME": experiment,
        "BOT_DATA_DIR": str(tmp_root / experiment),
        "FEEDBACK_REPORT_ADMINS": SANDBOX_USER_ID,
        "LLM_TIMEOUT_S": "30",
    }
    bot = BotProcess(env, tmp_root / f"{experiment}.log")
    sandbox = Sandbox(
        bot_url=bot.url,
        bot_token=TOKEN,
        signing_secret=SECRET,
        mlflow_url=mlflow_server.url,
        mlflow_experiment=experiment,
    )
    await sandbox.start()
    bot.env["SLACK_API_URL"] = sandbox.slack.api_url
    try:
        await asyncio.to_thread(bot.start)
        yield sandbox, Tracking(mlflow_server.url, experiment)
    finally:
        await asyncio.to_thread(bot.stop)
        await sandbox.stop()


async def ask_in_dm(page: Page, question: str) -> Locator:
    """Ask the bot in the DM; the thread its answer is in, once the answer is complete."""
    await send(page, question)
    thread = page.locator(".thread", has=page.locator(".msg.from-bot", has_text=question))
    await expect(thread.locator("button.feedback")).to_have_count(2, timeout=20_000)
    return thread


def seed_a_week(sandbox: Sandbox) -> None:
    """Six earlier days of answers and votes in the sandbox bot's experiment."""
    seeder = FeedbackSeeder(str(sandbox.mlflow_url), str(sandbox.mlflow_experiment))
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    traces = []
    for day in range(1, 7):
        for n in range(2 + day % 3):
            channel = CHANNEL_ID if n % 2 else DM_ID
            traces.append(
                seeder.answer(
                    started=today - timedelta(days=day, minutes=n),
                    channel=channel,
                    asker=f"U{n}",
                    question=f"question {day}.{n}",
                    answer="an answer",
                    question_ts=f"1700000000.{day:03d}{n:03d}",
                    kind="public_channel" if channel == CHANNEL_ID else "dm",
                )
            )
    seeder.wait_exported()
    for number, trace in enumerate(traces):
        up = number % 3 != 1
        seeder.vote(trace, f"U{number}", up=up)
        if not up:
            seeder.reason(trace, f"U{number}", ("outdated", "incomplete")[number % 2])


async def reasons_by_me(tracking: Tracking) -> list[tuple[str, str | None]]:
    return sorted(
        (str(a.value), a.rationale)
        for trace in await tracking.asearch()
        for a in trace.info.assessments
        if a.name == "user_feedback_reason" and a.valid is not False
    )


async def test_a_thumbs_down_asks_why_in_the_page_and_the_reason_reaches_mlflow(
    sandbox_with_bot: tuple[Sandbox, Tracking],
) -> None:
    sandbox, tracking = sandbox_with_bot
    async with chromium_page() as page:
        await page.goto(sandbox.url)

        # 👎 → "What went wrong?" in the thread, for me alone → a reason → a thank-you.
        first = await ask_in_dm(page, "Where is the wiki?")
        await first.locator("button.feedback[data-choice=negative]").click()
        follow_up = first.locator(".msg.kind-ephemeral", has_text="What went wrong?")
        await expect(follow_up.locator(".only-you")).to_be_visible()
        await screenshot(page, "sandbox-reason-follow-up.png")
        await follow_up.get_by_role("button", name="Inaccurate").click()
        thanks = first.locator(".msg.kind-ephemeral", has_text="Thanks — noted")
        await expect(thanks).to_contain_text("Inaccurate")
        await expect(first.locator(".msg.kind-ephemeral")).to_have_count(1)  # replaced

        # 👎 → "Tell us more…" → the modal: a reason is required, the comment is not.
        for question, reason, comment in (
            ("Who runs payroll?", "Outdated", None),
            ("How do I reset my token?", "Incomplete", "It skips the second step."),
        ):
            thread = await ask_in_dm(page, question)
            await thread.locator("button.feedback[data-choice=negative]").click()
            await thread.get_by_role("button", name="Tell us more…").click()
            modal = page.locator("#modal")
            await expect(modal.locator("#modal-title")).to_have_text("What went wrong?")
            await modal.get_by_role("button", name="Send").click()
            await expect(modal.locator("[data-error-for=reason]")).not_to_be_empty()
            await modal.locator("[data-block-id=reason] select").select_option(label=reason)
            if comment:
                await modal.locator("[data-block-id=comment] textarea").fill(comment)
            await modal.get_by_role("button", name="Send").click()
            await expect(page.locator("#modal-backdrop")).to_be_hidden()
            await expect(thread.locator(".msg.kind-ephemeral")).to_contain_text(reason)

        async def all_three() -> bool:
            assert await reasons_by_me(tracking) == [
                ("inaccurate", None),
                ("incomplete", "It skips the second step."),
                ("outdated", None),
            ]
            return True

        await eventually(all_three)

        # A 👎 reaction: the reaction shows, the bot hears it, and asks why.
        fourth = await ask_in_dm(page, "Is the canteen open?")
        answer = fourth.locator(".msg.from-bot")
        await answer.get_by_role("button", name="Add reaction :-1:").click()
        await expect(answer.locator(".reaction.mine")).to_have_text("👎 1")
        await expect(fourth.locator(".msg.kind-ephemeral")).to_contain_text("What went wrong?")

        # The votes' highlights survive a reload.
        await page.reload()
        chosen = page.locator(".thread button.feedback.chosen[data-choice=negative]")
        await expect(chosen).to_have_count(3)

        # The sidebar's MLflow link opens the experiment's traces.
        experiment_id = tracking.experiment_id
        await expect(page.locator("#mlflow-link")).to_have_attribute(
            "href", f"{sandbox.mlflow_url}/#/experiments/{experiment_id}/traces"
        )
        await expect(page.locator("#dataset-link")).to_have_attribute(
            "href", f"{sandbox.mlflow_url}/#/experiments/{experiment_id}/datasets"
        )

        # `/feedback-report 7d #general`: the channel reaches the bot as Slack escapes it,
        # and the report replaces "Building the report…".
        await send(page, "/feedback-report 7d #general")
        responses = page.locator(".msg.kind-response")
        await expect(responses.filter(has_text="Feedback report")).to_have_count(1, timeout=30_000)
        await expect(responses.filter(has_text="Building the report")).to_have_count(0)
        await expect(responses.filter(has_text="could not find")).to_have_count(0)
        scope = responses.filter(has_text="Feedback report").locator(".blk.context").first
        await expect(scope).to_contain_text("#general")  # a channel shows as its name
        await expect(scope).not_to_contain_text(CHANNEL_ID)
        await screenshot(page, "sandbox-reasons.png")

        # Over every channel the 👎 answers are the lowest-rated: an admin adds one to the
        # evaluation dataset from the report.
        await send(page, "/feedback-report 7d")
        await expect(responses.filter(has_text="Feedback report")).to_have_count(2, timeout=30_000)
        await responses.get_by_role("button", name="Add to dataset").first.click()
        in_dataset = responses.get_by_role("button", name="In dataset ✓")
        await expect(in_dataset).to_have_count(1, timeout=30_000)
        # Each low-rated answer's "message in Slack" opens this page at that message.
        reports = responses.filter(has_text="Feedback report")
        link = reports.last.get_by_role("link", name="message in Slack").first
        href = str(await link.get_attribute("href"))
        assert href.startswith(f"{sandbox.url}/#message/{DM_ID}/"), href
        await page.goto(href)
        linked_ts = href.rsplit("/", 1)[1]
        await expect(page.locator(f'.msg.linked[data-ts="{linked_ts}"]')).to_be_visible()


async def test_the_assistant_panel_greets_suggests_and_gives_a_traced_rateable_answer(
    sandbox_with_bot: tuple[Sandbox, Tracking],
) -> None:
    sandbox, tracking = sandbox_with_bot
    async with chromium_page() as page:
        await page.goto(sandbox.url)
        await page.locator(f"[data-conversation={CHANNEL_ID}]").click()

        # Opened while viewing #general: the bot's greeting and its suggested prompts.
        await page.locator("#assistant-toggle").click()
        panel = page.locator("#assistant")
        await expect(panel.locator(".msg.from-bot")).to_contain_text(GREETING)
        prompts = panel.locator("#assistant-prompts button.prompt")
        await expect(prompts).to_have_count(4)
        [thread] = sandbox.state()["assistant_threads"]
        prompt = thread["prompts"]["prompts"][0]["message"]

        # A click on a prompt is the user's message in the thread; a traced answer comes back
        # with its feedback controls, and the thread is titled after the question.
        await prompts.first.click()
        answer = panel.locator(".msg.from-bot").filter(has_text=f"Echo: {prompt}")
        await expect(answer.locator("button.feedback")).to_have_count(2)
        await expect(answer.get_by_role("button", name="Rate in detail")).to_be_visible()
        await expect(panel.locator("#assistant-title")).to_have_text(thread_title(prompt))
        await expect(prompts).to_have_count(0)
        posted = [m for m in sandbox.slack.bot_messages(DM_ID) if m.get("metadata")]
        trace_id = posted[0]["metadata"]["event_payload"]["trace_id"]
        trace = await tracking.wait_for_trace(trace_id)
        assert trace.info.tags["slack.viewing_channel"] == CHANNEL_ID
        await screenshot(page, "sandbox-assistant.png")

        # 👍 in the panel lands on the answer's trace like any other vote.
        await answer.locator("button.feedback[data-choice=positive]").click()
        [vote] = await eventually(lambda: tracking.valid_assessments(trace_id, "user_feedback"))
        assert vote.value is True and vote.source.source_id == SANDBOX_USER_ID

        # Moving to another conversation with the panel open tells the bot.
        await page.locator(f"[data-conversation={DM_ID}]").click()
        changed = page.locator("#deliveries li[data-kind='event assistant_thread_context_changed']")
        await expect(changed).to_have_attribute("data-status", "200")
        # The DM view does not show the panel's thread.
        await expect(page.locator("#messages")).not_to_contain_text(GREETING)

        # A new chat; the earlier one opens again from the sidebar's list of chats…
        await page.locator("#assistant-toggle").click()
        await expect(panel.locator("#assistant-title")).to_have_text("New chat")
        chats = page.locator("#assistant-chats button")
        await expect(chats).to_have_count(2)
        await chats.filter(has_text=thread_title(prompt)).click()
        first_answer = panel.locator(".msg.from-bot").filter(has_text=f"Echo: {prompt}")
        await expect(first_answer).to_be_visible()
        # …and the panel stays open on it across a reload, beside the conversation I was in.
        await page.reload()
        await expect(panel.locator("#assistant-title")).to_have_text(thread_title(prompt))
        await expect(first_answer).to_be_visible()
        await expect(page.locator(f"[data-conversation={DM_ID}]")).to_have_class("current")


async def test_the_report_and_the_home_tab_draw_charts_and_a_table(
    sandbox_with_bot: tuple[Sandbox, Tracking],
) -> None:
    sandbox, tracking = sandbox_with_bot
    await asyncio.to_thread(seed_a_week, sandbox)
    async with chromium_page() as page:
        await page.goto(sandbox.url)
        votes = (
            ("Where is the wiki?", "positive"),
            ("Who runs payroll?", "negative"),
            ("Is the canteen open?", "positive"),
        )
        for question, choice in votes:
            thread = await ask_in_dm(page, question)
            await thread.locator(f"button.feedback[data-choice={choice}]").click()
            if choice == "negative":
                follow_up = thread.locator(".msg.kind-ephemeral", has_text="What went wrong?")
                await follow_up.get_by_role("button", name="Inaccurate").click()
                await expect(thread.locator(".msg.kind-ephemeral")).to_contain_text("Thanks")

        async def in_mlflow() -> bool:
            found = [
                (a.name, a.value)
                for trace in await tracking.asearch()
                for a in trace.info.assessments
                if a.valid is not False
                and a.name in ("user_feedback", "user_feedback_reason")
                and a.source.source_id == SANDBOX_USER_ID
            ]
            assert sorted(map(str, found)) == sorted(
                map(
                    str,
                    [("user_feedback", True)] * 2
                    + [("user_feedback", False)]
                    + [("user_feedback_reason", "inaccurate")],
                )
            )
            return True

        await eventually(in_mlflow)

        # /feedback-report: the trend as a line chart, the reasons as bars, a channels table.
        await send(page, "/feedback-report 7d")
        report = page.locator(".msg.kind-response").filter(has_text="Feedback report")
        await expect(report.locator("figure.chart")).to_have_count(2, timeout=30_000)
        line = report.locator("figure[data-chart-type=line]")
        await expect(line.locator("polyline")).to_have_count(2)  # positive rate, votes
        await expect(line.locator("circle")).to_have_count(2 * 7)  # a point a day
        await expect(report.locator("figure[data-chart-type=bar] rect")).to_have_count(3)
        await expect(report.locator(".data-table tbody tr")).to_have_count(2)
        await expect(report).to_contain_text("Where asked")
        await report.locator("figure.chart").first.scroll_into_view_if_needed()
        await screenshot(page, "sandbox-charts.png")

        # The Home tab: the admin's report with its charts and picker.
        await page.locator("[data-conversation=home]").click()
        home = page.locator(".home-view")
        await expect(home.locator("figure.chart")).to_have_count(2, timeout=30_000)
        await expect(home).to_contain_text("Refresh")
        await screenshot(page, "sandbox-home.png")
        await home.locator("select[data-act=select]").first.select_option("24h")
        await expect(home.locator("select[data-act=select]").first).to_have_value(
            "24h", timeout=30_000
        )
        await expect(home).to_contain_text("The last 24 hours")
