"""The sandbox server: the Slack Web API emulator and the page, on one loopback port.

The page (static/) shows `GET /sandbox/stream` (server-sent state) and posts what its user
does to `/sandbox/*`; this server turns each into what Slack would send the bot, signed with
the app's signing secret, and keeps a log of every delivery and the bot's answer to it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from devkit import slack_payloads as payloads
from devkit.slack_api import SlackApiError
from devkit.slack_requests import SlackSender
from sandbox import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    CHANNEL_ID,
    DIGEST_CHANNEL_ID,
    DIGEST_CHANNEL_NAME,
    DM_ID,
    SANDBOX_USER_ID,
    SANDBOX_USER_NAME,
    TEAM_DOMAIN,
    TEAM_ID,
)
from sandbox.slack import SandboxSlack

log = logging.getLogger("sandbox")

STATIC = Path(__file__).with_name("static")
# Slack waits 3 s for an app to acknowledge an interaction or a command.
ACK_TIMEOUT_S = 3.0
EVENT_TIMEOUT_S = 10.0
CONVERSATIONS: dict[str, dict[str, Any]] = {
    CHANNEL_ID: {"id": CHANNEL_ID, "name": "general", "kind": "channel"},
    DIGEST_CHANNEL_ID: {
        "id": DIGEST_CHANNEL_ID,
        "name": DIGEST_CHANNEL_NAME,
        "kind": "channel",
        "digest": True,  # the page offers "Run the digest now" there
    },
    DM_ID: {"id": DM_ID, "name": BOT_NAME, "kind": "im"},
}
DIGEST_TIMEOUT_S = 120.0
WORKSPACE = payloads.Workspace(TEAM_ID, TEAM_DOMAIN, APP_ID, BOT_ID, BOT_USER_ID)
USER = payloads.person(WORKSPACE, SANDBOX_USER_ID, SANDBOX_USER_NAME)
# The command's text as Slack sends it with "Escape channels, users, and links" on.
CHANNEL_NAMES = {c["name"]: c["id"] for c in CONVERSATIONS.values() if c["kind"] == "channel"}
USER_NAMES = {SANDBOX_USER_NAME: SANDBOX_USER_ID, BOT_NAME: BOT_USER_ID}
# What people type for the bot; the client turns it into Slack's mention syntax.
_AT_BOT = re.compile(rf"@(?:{re.escape(BOT_NAME)}|bot)\b", re.IGNORECASE)
# …and a channel's name into a link to it (`#general` → `<#C…>`).
_HASH_CHANNEL = re.compile(
    rf"(?<![\w&#])#({'|'.join(map(re.escape, CHANNEL_NAMES))})\b", re.IGNORECASE
)


@dataclass
class Delivery:
    """One signed request to the bot and its answer (`status` None: no answer)."""

    id: int
    kind: str
    detail: str
    at: float
    status: int | None = None
    ms: int | None = None
    error: str | None = None
    body: str = ""


class Sandbox:
    def __init__(
        self,
        *,
        bot_url: str,
        bot_token: str,
        signing_secret: str,
        mlflow_url: str | None = None,
        mlflow_experiment: str | None = None,
        digest_command: list[str] | None = None,
        digest_env: dict[str, str] | None = None,
    ) -> None:
        """`mlflow_url`: the MLflow UI; the sidebar links to `mlflow_experiment`'s traces
        there once the bot has created it. `digest_command` (with `digest_env` added to the
        environment): what "Run the digest now" runs (`python -m bot digest --now`)."""
        self.slack = SandboxSlack(
            bot_token=bot_token,
            team_id=TEAM_ID,
            team_domain=TEAM_DOMAIN,
            bot_user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            app_id=APP_ID,
        )
        self.sender = SlackSender(bot_url, signing_secret, TEAM_ID, APP_ID, BOT_USER_ID)
        self.slack.add_channel(DIGEST_CHANNEL_ID, DIGEST_CHANNEL_NAME)
        self.digest_command = digest_command
        self.digest_env = digest_env or {}
        self.mlflow_url = mlflow_url
        self.mlflow_experiment = mlflow_experiment
        self.mlflow_link = mlflow_url  # the experiment's traces, once known
        self.dataset_link: str | None = None  # the experiment's evaluation datasets, then
        self.deliveries: deque[Delivery] = deque(maxlen=200)
        self._delivery_ids = 0
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        app = self.slack.web_app()
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/sandbox/state", self._state)
        app.router.add_get("/sandbox/stream", self._stream)
        app.router.add_post("/sandbox/message", self._message)
        app.router.add_post("/sandbox/action", self._action)
        app.router.add_post("/sandbox/view_submission", self._view_submission)
        app.router.add_post("/sandbox/view_close", self._view_close)
        app.router.add_post("/sandbox/assistant/open", self._assistant_open)
        app.router.add_post("/sandbox/assistant/context", self._assistant_context)
        app.router.add_post("/sandbox/reaction", self._reaction)
        app.router.add_post("/sandbox/digest", self._digest)
        app.router.add_post("/sandbox/home/open", self._home_open)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.slack.base_url = f"http://{host}:{bound}"
        task = asyncio.create_task(self._find_experiment(), name="find the MLflow experiment")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return self.slack.base_url

    async def stop(self) -> None:
        self._closing.set()
        for task in list(self._background):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.sender.close()

    async def _on_shutdown(self, app: web.Application) -> None:
        self._closing.set()

    @property
    def url(self) -> str:
        return self.slack.base_url

    # -- what the page shows ---------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        slack = self.slack
        channels = dict(CONVERSATIONS)
        for channel in list(slack.messages):
            channels.setdefault(
                channel,
                {"id": channel, "name": channel, "kind": "im" if channel[0] == "D" else "channel"},
            )
        modal = None
        if slack.modals and slack.modals[-1] in slack.views:
            view_id = slack.modals[-1]
            modal = {
                "id": view_id,
                "view": slack.views[view_id],
                "errors": slack.modal_errors.get(view_id, {}),
            }
        return {
            "version": slack.version,
            "me": {"id": SANDBOX_USER_ID, "name": SANDBOX_USER_NAME},
            "bot": {"user_id": BOT_USER_ID, "name": BOT_NAME},
            "users": {SANDBOX_USER_ID: SANDBOX_USER_NAME, BOT_USER_ID: BOT_NAME},
            "mlflow_url": self.mlflow_link,
            "dataset_url": self.dataset_link,
            "conversations": list(channels.values()),
            "items": {channel: self._items(channel) for channel in channels},
            "modal": modal,
            "home": slack.home_views.get(SANDBOX_USER_ID),
            "assistant_threads": [
                {
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "title": thread["title"],
                    "prompts": thread["prompts"],
                    "status": thread["status"],
                    "viewing": thread["context"]["channel_id"],
                }
                for (channel, thread_ts), thread in slack.assistant_threads.items()
            ],
            "deliveries": [asdict(d) for d in reversed(self.deliveries)],
        }

    def _items(self, channel: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for m in self.slack.messages.get(channel, []):
            items.append(
                {
                    "kind": "message",
                    "ts": m["ts"],
                    "thread_ts": m.get("thread_ts"),
                    "user": m.get("user"),
                    "from_bot": bool(m.get("bot_id")),
                    "text": m.get("text") or "",
                    "blocks": m.get("blocks") or [],
                    "streamed": "streaming" in m,
                    "streaming": bool(m.get("streaming")),
                    "metadata": m.get("metadata"),
                    "reactions": m.get("reactions") or [],
                    "chosen": self.slack.feedback_choices.get((channel, m["ts"]), {}),
                }
            )
        for e in self.slack.ephemeral:
            if e["channel"] == channel and e["user"] == SANDBOX_USER_ID and not e.get("deleted"):
                items.append(
                    {
                        "kind": "ephemeral",
                        "ts": e.get("message_ts") or "0",
                        "thread_ts": e.get("thread_ts"),
                        "text": e.get("text") or "",
                        "blocks": e.get("blocks") or [],
                    }
                )
        for r in self.slack.responses:
            if r["channel"] == channel and not r.get("deleted"):
                items.append({"kind": "response", **r})
        items.sort(key=lambda item: float(item["ts"]))
        return items

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        seen, quiet_since = -1, time.monotonic()
        try:
            while not self._closing.is_set():
                if self.slack.version != seen:
                    seen = self.slack.version
                    await response.write(f"data: {json.dumps(self.state())}\n\n".encode())
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > 15:
                    await response.write(b": keep-alive\n\n")
                    quiet_since = time.monotonic()
                await asyncio.sleep(0.1)
        except (ConnectionResetError, RuntimeError):
            pass  # the page went away
        return response

    # -- what the page's user does ---------------------------------------------------------

    async def _message(self, request: web.Request) -> web.Response:
        body = await request.json()
        channel, text = body.get("channel"), str(body.get("text") or "").strip()
        thread_ts = body.get("thread_ts") or None
        if channel not in CONVERSATIONS or not text:
            raise web.HTTPBadRequest(text="a known channel and some text, please")
        if text.startswith("/"):
            return web.json_response(await self._command(channel, text))
        # Slack escapes what people type, then writes mentions in its own syntax.
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        text = _AT_BOT.sub(f"<@{BOT_USER_ID}>", text)
        text = _HASH_CHANNEL.sub(lambda m: f"<#{CHANNEL_NAMES[m.group(1).lower()]}>", text)
        message = self.slack.add_user_message(channel, SANDBOX_USER_ID, text, thread_ts)
        kind = CONVERSATIONS[channel]["kind"]
        root = self.slack.find_message(channel, thread_ts) if thread_ts else None
        parent = root.get("user") if root else None
        event = payloads.message_event(WORKSPACE, message, channel, kind, parent)
        events = [event]
        if kind == "channel" and f"<@{BOT_USER_ID}>" in text:
            events.append(payloads.app_mention_event(event))
        statuses = []
        for each in events:
            delivery = await self._deliver_event(each, f"{kind} {channel}")
            statuses.append(delivery.status)
        return web.json_response({"ts": message["ts"], "statuses": statuses})

    async def _assistant_open(self, request: web.Request) -> web.Response:
        """The user opens the app's assistant panel while viewing a conversation: a new
        thread in the app's DM, and `assistant_thread_started`."""
        viewing = (await request.json()).get("viewing")
        event = self.slack.start_assistant_thread(
            DM_ID, SANDBOX_USER_ID, viewing if viewing in CONVERSATIONS else None
        )
        delivery = await self._deliver_event(event, "assistant panel opened")
        thread_ts = event["assistant_thread"]["thread_ts"]
        return web.json_response({"thread_ts": thread_ts, "status": delivery.status})

    async def _assistant_context(self, request: web.Request) -> web.Response:
        """With the panel open, the user moves to another conversation."""
        body = await request.json()
        thread_ts, viewing = str(body.get("thread_ts")), body.get("viewing")
        if (DM_ID, thread_ts) not in self.slack.assistant_threads or viewing not in CONVERSATIONS:
            raise web.HTTPBadRequest(text="an open assistant thread and a known channel, please")
        event = self.slack.change_assistant_context(DM_ID, thread_ts, viewing)
        delivery = await self._deliver_event(event, f"now viewing {viewing}")
        return web.json_response({"status": delivery.status})

    async def _home_open(self, request: web.Request) -> web.Response:
        """The user opens the app's Home tab: `app_home_opened`, with the view last published."""
        view = self.slack.home_views.get(SANDBOX_USER_ID)
        event = payloads.home_opened(SANDBOX_USER_ID, DM_ID, view)
        delivery = await self._deliver_event(event, "Home tab opened")
        return web.json_response({"status": delivery.status})

    async def _home_action(self, body: dict[str, Any]) -> web.Response:
        """A click or choice in the Home tab: `block_actions` with the view, no message."""
        view = self.slack.home_views.get(SANDBOX_USER_ID)
        try:
            block_index = int(body["block"])
            block = view["blocks"][block_index] if view else None
            element = block["elements"][int(body["element"])] if block else None
        except (KeyError, IndexError, TypeError, ValueError):
            element = None
        if view is None or block is None or element is None:
            raise web.HTTPBadRequest(text="no such element in the Home tab")
        block_id = block.get("block_id") or f"sandbox-block-{block_index}"
        act = payloads.action(block, element, block_id=block_id, selected=body.get("selected"))
        payload = payloads.home_click(
            WORKSPACE, act, user=USER, view=view, trigger_id=self.slack.new_trigger()
        )
        delivery = await self._deliver(
            "block_actions",
            f"{act['type']} {act['action_id']} (Home)",
            lambda: self.sender.interaction(payload),
            ACK_TIMEOUT_S,
        )
        return web.json_response({"status": delivery.status})

    async def _deliver_event(self, event: dict[str, Any], detail: str) -> Delivery:
        send = functools.partial(
            self.sender.event, event, event_id=f"Ev{uuid.uuid4().hex[:12].upper()}"
        )
        return await self._deliver(f"event {event['type']}", detail, send, EVENT_TIMEOUT_S)

    async def _command(self, channel: str, typed: str) -> dict[str, Any]:
        command, _, text = typed.partition(" ")
        # Where replies to the response_url go: once the immediate answer shows, that message
        # (so `replace_original` replaces it).
        context: dict[str, Any] = {"channel": channel, "source": "command"}
        fields = payloads.slash_command(
            WORKSPACE,
            USER,
            command,
            payloads.escaped_command_text(text.strip(), CHANNEL_NAMES, USER_NAMES),
            channel=channel,
            channel_name=CONVERSATIONS[channel]["name"],
            response_url=self.slack.new_response_url(context),
            trigger_id=self.slack.new_trigger(),
        )
        delivery = await self._deliver(
            "command", command, lambda: self.sender.command(fields), ACK_TIMEOUT_S
        )
        if delivery.status == 200:
            reply = _json_or_text(delivery.body)
            if reply:
                context.update(source="response", ts=self.slack.show_response(channel, None, reply))
        else:
            self.slack.show_response(
                channel, None, {"text": f"{command} failed: {_failure(delivery)}"}, "slackbot"
            )
        return {"status": delivery.status}

    async def _action(self, request: web.Request) -> web.Response:
        body = await request.json()
        source, channel, ts = body.get("source"), body.get("channel"), str(body.get("ts"))
        if source == "home":
            return await self._home_action(body)
        if source == "message":
            original = self.slack.find_message(channel, ts)
        elif source == "ephemeral":
            original = self.slack.ephemeral_message(ts)
        else:
            original = self.slack.response_message(ts)
        if original is None or channel not in CONVERSATIONS:
            raise web.HTTPNotFound(text="no such message")
        try:
            block_index = int(body["block"])
            block = original["blocks"][block_index]
            element = (
                block["accessory"]
                if body.get("element") == "accessory"
                else block["elements"][int(body["element"])]
            )
        except (KeyError, IndexError, TypeError, ValueError):
            raise web.HTTPBadRequest(text="no such element") from None
        block_id = block.get("block_id") or f"sandbox-block-{block_index}"
        if element.get("type") == "feedback_buttons" and body.get("choice"):
            self.slack.remember_choice(channel, ts, block_index, str(body["choice"]))
        act = payloads.action(
            block,
            element,
            block_id=block_id,
            choice=body.get("choice"),
            selected=body.get("selected"),
        )
        thread_ts = original.get("thread_ts")
        container = payloads.message_container(
            channel, {"ts": ts, "thread_ts": thread_ts}, ephemeral=source != "message"
        )
        message = payloads.as_clicked(original) if source == "message" else None
        payload = payloads.block_actions(
            WORKSPACE,
            act,
            user=USER,
            channel=channel,
            channel_name=CONVERSATIONS[channel]["name"],
            container=container,
            trigger_id=self.slack.new_trigger(),
            response_url=self.slack.new_response_url(
                {"channel": channel, "thread_ts": thread_ts, "source": source, "ts": ts}
            ),
            message=message,
        )
        delivery = await self._deliver(
            "block_actions",
            f"{act['type']} {act['action_id']}",
            lambda: self.sender.interaction(payload),
            ACK_TIMEOUT_S,
        )
        return web.json_response({"status": delivery.status})

    async def _view_submission(self, request: web.Request) -> web.Response:
        body = await request.json()
        view_id = body.get("view_id")
        view = self.slack.views.get(view_id)
        if view is None or view_id not in self.slack.modals:
            raise web.HTTPNotFound(text="no such modal")
        values, missing = payloads.view_state(view, body.get("values") or {})
        view["state"] = {"values": values}  # what the page shows
        if missing:  # Slack's client refuses to submit, without asking the app
            self.slack.modal_errors[view_id] = missing
            self.slack.touch()
            return web.json_response({"status": None, "errors": missing})
        payload = payloads.view_submission(WORKSPACE, view, USER, values, self.slack.new_trigger())
        delivery = await self._deliver(
            "view_submission",
            view.get("callback_id") or view_id,
            lambda: self.sender.interaction(payload),
            ACK_TIMEOUT_S,
        )
        errors = self._after_submission(view_id, delivery)
        self.slack.modal_errors[view_id] = errors
        self.slack.touch()
        return web.json_response({"status": delivery.status, "errors": errors})

    def _after_submission(self, view_id: str, delivery: Delivery) -> dict[str, str]:
        """Do what the app's answer says (`response_action`); the errors to show, if any."""
        if delivery.status != 200:
            return {"": f"The app could not take this: {_failure(delivery)}"}
        reply = _json_or_text(delivery.body) or {}
        action = reply.get("response_action")
        try:
            if action is None:
                self.slack.close_modal(view_id)
            elif action == "errors":
                return {str(k): str(v) for k, v in (reply.get("errors") or {}).items()}
            elif action == "clear":
                self.slack.close_modal(view_id, clear=True)
            elif action == "update":
                self.slack.store_view(reply["view"], view_id)
            elif action == "push":
                self.slack.store_view(reply["view"])
            else:
                return {"": f"unknown response_action {action!r}"}
        except (SlackApiError, KeyError, TypeError):
            return {"": f"the view in response_action {action!r} is not a valid modal"}
        return {}

    async def _view_close(self, request: web.Request) -> web.Response:
        body = await request.json()
        view_id = body.get("view_id")
        view = self.slack.views.get(view_id)
        if view is None:
            raise web.HTTPNotFound(text="no such modal")
        self.slack.close_modal(view_id)
        if view.get("notify_on_close"):
            payload = payloads.view_closed(WORKSPACE, view, USER)
            await self._deliver(
                "view_closed",
                view.get("callback_id") or view_id,
                lambda: self.sender.interaction(payload),
                ACK_TIMEOUT_S,
            )
        return web.json_response({"closed": view_id})

    async def _reaction(self, request: web.Request) -> web.Response:
        """The page's user adds (or, if there, removes) an emoji reaction on a message."""
        body = await request.json()
        channel, ts, emoji = body.get("channel"), str(body.get("ts")), str(body.get("emoji") or "")
        if channel not in CONVERSATIONS or not re.fullmatch(r"[a-z0-9_+-]{1,64}", emoji):
            raise web.HTTPBadRequest(text="a known channel and an emoji name, please")
        added = self.slack.toggle_reaction(channel, ts, SANDBOX_USER_ID, emoji)
        if added is None:
            raise web.HTTPNotFound(text="no such message")
        message = self.slack.find_message(channel, ts) or {}
        author = message.get("user") or (BOT_USER_ID if message.get("bot_id") else None)
        reacted = {"channel": channel, "ts": ts, "user": author}
        event = payloads.reaction_event(SANDBOX_USER_ID, emoji, reacted, added)
        delivery = await self._deliver_event(event, f":{emoji}: on {channel} {ts}")
        return web.json_response({"added": added, "status": delivery.status})

    # -- the MLflow link -------------------------------------------------------------------

    async def _digest(self, request: web.Request) -> web.Response:
        """ "Run the digest now": the bot's `digest --now`, as an operator runs it."""
        if not self.digest_command:
            return web.json_response({"ok": False, "output": "no digest command configured"})
        env = {**os.environ, **self.digest_env, "SLACK_API_URL": self.slack.api_url}
        process = await asyncio.create_subprocess_exec(
            *self.digest_command,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), DIGEST_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            return web.json_response({"ok": False, "output": "the digest took too long"})
        lines = output.decode(errors="replace").strip().splitlines()
        return web.json_response(
            {"ok": process.returncode == 0, "output": lines[-1] if lines else ""}
        )

    async def _find_experiment(self) -> None:
        """Point the sidebar's links at the experiment's traces and evaluation datasets once
        the bot has created it."""
        if not self.mlflow_url or not self.mlflow_experiment:
            return
        base = self.mlflow_url.rstrip("/")
        url = f"{base}/api/2.0/mlflow/experiments/get-by-name"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while not self._closing.is_set():
                try:
                    params = {"experiment_name": self.mlflow_experiment}
                    async with http.get(url, params=params) as response:
                        if response.status == 200:
                            found = (await response.json())["experiment"]["experiment_id"]
                            experiment = f"{base}/#/experiments/{quote(found, safe='')}"
                            self.mlflow_link = f"{experiment}/traces"
                            # (the bot's FEEDBACK_DATASET is among them once an answer is added)
                            self.dataset_link = f"{experiment}/datasets"
                            self.slack.touch()
                            return
                except (aiohttp.ClientError, TimeoutError, KeyError, ValueError):
                    pass  # not up yet
                await asyncio.sleep(1.0)

    # -- delivery --------------------------------------------------------------------------

    async def _deliver(
        self,
        kind: str,
        detail: str,
        send: Callable[[], Awaitable[tuple[int, str]]],
        timeout_s: float,
    ) -> Delivery:
        self._delivery_ids += 1
        delivery = Delivery(self._delivery_ids, kind, detail, time.time())
        self.deliveries.append(delivery)
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout_s):
                delivery.status, delivery.body = await send()
        except TimeoutError:
            delivery.error = f"no answer within {timeout_s:g} s"
        except Exception as error:  # the bot is down, refused the connection, …
            delivery.error = f"{type(error).__name__}: {error}"
        delivery.ms = round((time.monotonic() - started) * 1000)
        delivery.body = delivery.body[:2000]
        outcome = delivery.status if delivery.error is None else delivery.error
        log.info("→ %s %s: %s (%d ms)", kind, detail, outcome, delivery.ms)
        self.slack.touch()
        return delivery


def _json_or_text(body: str) -> dict[str, Any] | None:
    """An app's answer as Slack reads it: JSON, plain text as a message, or nothing."""
    if not body.strip():
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return {"text": body}
    return value if isinstance(value, dict) else {"text": body}


def _failure(delivery: Delivery) -> str:
    if delivery.error is not None:
        return delivery.error
    return f"the app answered HTTP {delivery.status}"
