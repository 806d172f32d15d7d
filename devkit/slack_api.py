"""A Slack Web API emulator: strict like Slack for every method the bot calls.

- Checks the bearer token (`not_authed` without one, `invalid_auth` for a wrong one).
- Keeps messages per channel with real-looking `ts`, metadata, threads and streams.
- Rejects blocks `slack_sdk` cannot parse or that break Block Kit limits (`invalid_blocks`);
  checks `data_visualization` and `data_table` blocks, which slack_sdk has no models for, as
  Slack's reference describes them (devkit/block_kit_data.py), and refuses them on request
  (`data_blocks_refused_by`: the surfaces that answer `invalid_blocks` to any of them).
- Answers unknown methods with `unknown_method`, and records every call.
- Faults on demand: 429 with `Retry-After`, 5xx, or a method that refuses (`fail`).
- Socket Mode: `apps.connections.open` for app-level tokens and its WebSocket
  (devkit/slack_socket_mode.py, `socket_mode`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from devkit.block_kit_data import DATA_BLOCK_TYPES, InvalidDataBlock, check_data_blocks
from devkit.slack_socket_mode import SocketModeHub

# assistant.threads.*: at most 4 suggested prompts, 10 loading messages (Slack's documentation).
MAX_SUGGESTED_PROMPTS = 4
MAX_LOADING_MESSAGES = 10
MESSAGE_BLOCKS_LIMIT = 50
MODAL_BLOCKS_LIMIT = 100
MARKDOWN_TOTAL_LIMIT = 12_000
TEXT_LIMIT = 40_000


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    remaining: int = 1


class SlackApiError(Exception):
    def __init__(self, error: str, status: int = 200) -> None:
        self.error, self.status = error, status


class SlackEmulator:
    def __init__(
        self,
        *,
        bot_token: str,
        team_id: str = "T0TEAM",
        team_domain: str = "emulated",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "ABOT",
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemeral: list[dict[str, Any]] = []
        self.response_url_posts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.views: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.streaming_enabled = True
        # Surfaces that refuse charts and tables: "response_url", or a method
        # ("chat.postMessage", "views.publish", …).
        self.data_blocks_refused_by: set[str] = set()
        self.home_views: dict[str, dict[str, Any]] = {}  # user → the published Home tab
        self.refusals: list[str] = []  # why data blocks were refused (for test failures)
        self.data_blocks_refusals: list[str] = []  # a surface refused them on request
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._triggers: dict[str, float] = {}
        self._ts_counter = itertools.count(1)
        self._last_ts = 0.0
        self._view_counter = itertools.count(1)
        self._streams: dict[str, dict[str, Any]] = {}
        # (DM channel, thread_ts) → the panel's state: title, suggested prompts, status.
        self.assistant_threads: dict[tuple[str, str], dict[str, Any]] = {}
        self.changed = asyncio.Event()
        self.socket_mode = SocketModeHub(app_id)
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/response/{key}", self._response_url)
        self.socket_mode.add_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{sockets[0].getsockname()[1]}"
        self.socket_mode.base_url = self.base_url
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    # -- test helpers ----------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail (429 → `ratelimited`)."""
        if status == 429 and error is None:
            error = "ratelimited"
        self._faults[method].append(Fault(status, error, retry_after, times))

    def clear_faults(self) -> None:
        self._faults.clear()
        self.data_blocks_refused_by.clear()

    def new_ts(self) -> str:
        """A real-looking, strictly increasing message timestamp ("1712345678.123456")."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def new_trigger(self) -> str:
        trigger = f"{int(time.time())}.{next(self._ts_counter)}.trigger"
        self._triggers[trigger] = time.monotonic()
        return trigger

    def add_message(
        self, channel: str, fields: dict[str, Any], thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A message posted by someone other than the bot (`fields`: who, what)."""
        message = {"type": "message", **fields, "ts": self.new_ts()}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self._store(channel, message)
        return message

    def add_user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        return self.add_message(channel, {"user": user, "text": text}, thread_ts)

    def add_foreign_bot_message(
        self, channel: str, text: str, thread_ts: str | None = None
    ) -> dict:
        fields = {"subtype": "bot_message", "bot_id": "BOTHER", "app_id": "AOTHER", "text": text}
        return self.add_message(channel, fields, thread_ts)

    def start_assistant_thread(
        self, channel: str, user: str, context_channel: str | None
    ) -> dict[str, Any]:
        """The user opens the app's assistant panel: Slack starts a thread in the app's DM (its
        root, from the app, has subtype `assistant_app_thread`); the
        `assistant_thread_started` event that says so is returned."""
        root = {
            "type": "message",
            "subtype": "assistant_app_thread",
            "user": self.bot_user_id,
            "text": "",
            "ts": self.new_ts(),
        }
        self._store(channel, root)
        self.assistant_threads[(channel, root["ts"])] = {
            "user": user,
            "title": None,
            "prompts": None,
            "status": None,
            "context": self._thread_context(context_channel),
        }
        return self._assistant_event("assistant_thread_started", channel, root["ts"])

    def change_assistant_context(
        self, channel: str, thread_ts: str, context_channel: str | None
    ) -> dict[str, Any]:
        """The user moves to another channel with the panel open: the event Slack sends."""
        thread = self.assistant_threads[(channel, thread_ts)]
        thread["context"] = self._thread_context(context_channel)
        self._notify()
        return self._assistant_event("assistant_thread_context_changed", channel, thread_ts)

    def _thread_context(self, channel: str | None) -> dict[str, Any]:
        return {"channel_id": channel, "team_id": self.team_id, "enterprise_id": None}

    def _assistant_event(self, kind: str, channel: str, thread_ts: str) -> dict[str, Any]:
        thread = self.assistant_threads[(channel, thread_ts)]
        return {
            "type": kind,
            "assistant_thread": {
                "user_id": thread["user"],
                "channel_id": channel,
                "thread_ts": thread_ts,
                "context": dict(thread["context"]),
            },
            "event_ts": self.new_ts(),
        }

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        private: bool = False,
        member: bool = True,
        archived: bool = False,
    ) -> None:
        """A channel the bot can see (listed by `conversations.list`). The bot can post in it
        only as a `member` (else `not_in_channel`), and not once it is `archived`."""
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": True,
            "is_group": False,
            "is_mpim": False,
            "is_private": private,
            "is_archived": archived,
            "is_member": member,
        }

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def bot_messages(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages[channel] if m.get("bot_id") == self.bot_id]

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages[channel] if m["ts"] == ts), None)

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:  # noqa: ASYNC109
        """Wait until `predicate()` returns something truthy, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError("the Slack emulator did not see what the test waited for")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 0.05)

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read_args(request)
        token = _bearer(request) or args.pop("token", None)
        self.calls.append(Call(method, {k: v for k, v in args.items() if k != "token"}))
        self._notify()
        fault = self._take_fault(method)
        if fault is not None:
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            body = {"ok": False, "error": fault.error or "internal_error"}
            return web.json_response(body, status=fault.status, headers=headers)
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        app_level = token in self.socket_mode.app_tokens
        if method == "apps.connections.open" and app_level:
            return web.json_response({"ok": True, **self.socket_mode.open_connection(token)})
        if app_level or (method == "apps.connections.open" and token == self.bot_token):
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if token != self.bot_token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        try:
            result = handler(args)
        except SlackApiError as error:
            return web.json_response({"ok": False, "error": error.error}, status=error.status)
        self._notify()
        return web.json_response({"ok": True, **result})

    async def _response_url(self, request: web.Request) -> web.Response:
        payload = await request.json()
        blocks = payload.get("blocks")
        if blocks is not None:
            try:
                self._validate_blocks(blocks, MESSAGE_BLOCKS_LIMIT, "response_url")
            except SlackApiError as error:
                return web.json_response({"ok": False, "error": error.error}, status=400)
        self.response_url_posts[request.match_info["key"]].append(payload)
        self._notify()
        return web.json_response({"ok": True})

    @staticmethod
    async def _read_args(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and raw:
            args.update(json.loads(raw))
        elif raw:
            args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        for key in ("blocks", "metadata", "view", "chunks", "attachments"):
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    raise web.HTTPBadRequest(text=f"{key} is not JSON") from None
        return args

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    def _notify(self) -> None:
        self.changed.set()

    def _store(self, channel: str, message: dict[str, Any]) -> None:
        message.setdefault("channel", channel)
        self.messages[channel].append(message)
        thread = self.assistant_threads.get((channel, str(message.get("thread_ts"))))
        if thread is not None and message.get("bot_id") == self.bot_id:
            thread["status"] = None  # the app replied: Slack clears its status
        self._notify()

    def _bot_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel")
        text = args.get("text") or args.get("markdown_text") or ""
        blocks = args.get("blocks")
        if not text and not blocks:
            raise SlackApiError("no_text")
        if len(text) > TEXT_LIMIT:
            raise SlackApiError("msg_too_long")
        if blocks is not None:
            self._validate_blocks(blocks, MESSAGE_BLOCKS_LIMIT, "chat.postMessage")
        # As Slack shows an app's posts: the bot user and bot_id, and no subtype.
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "ts": self.new_ts(),
            "channel": channel,
        }
        if blocks is not None:
            message["blocks"] = blocks
        if args.get("metadata") is not None:
            message["metadata"] = _validate_metadata(args["metadata"])
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        return message

    # -- methods ---------------------------------------------------------------------------

    def _m_auth_test(self, args: dict) -> dict:
        return {
            "url": "https://emulated.slack.test/",
            "team": "Emulated",
            "user": "bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "is_enterprise_install": False,
        }

    def _m_api_test(self, args: dict) -> dict:
        return {"args": args}

    def _m_chat_postMessage(self, args: dict) -> dict:
        known = self.channels.get(str(args.get("channel")))
        if known is not None and known.get("is_archived"):
            raise SlackApiError("is_archived")
        if known is not None and not known.get("is_member", True):
            raise SlackApiError("not_in_channel")
        message = self._bot_message(args)
        self._store(message["channel"], message)
        return {"channel": message["channel"], "ts": message["ts"], "message": message}

    def _m_chat_postEphemeral(self, args: dict) -> dict:
        channel, user = _required(args, "channel"), _required(args, "user")
        if args.get("blocks") is not None:
            self._validate_blocks(args["blocks"], MESSAGE_BLOCKS_LIMIT, "chat.postEphemeral")
        if not args.get("text") and not args.get("blocks"):
            raise SlackApiError("no_text")
        self.ephemeral.append({**args, "channel": channel, "user": user})
        return {"message_ts": self.new_ts()}

    def _m_chat_update(self, args: dict) -> dict:
        channel, ts = _required(args, "channel"), _required(args, "ts")
        message = self.find_message(channel, ts)
        if message is None:
            raise SlackApiError("message_not_found")
        if message.get("bot_id") != self.bot_id:
            raise SlackApiError("cant_update_message")
        if args.get("blocks") is not None:
            self._validate_blocks(args["blocks"], MESSAGE_BLOCKS_LIMIT, "chat.update")
            message["blocks"] = args["blocks"]
        if "text" in args:
            message["text"] = args["text"]
        if args.get("metadata") is not None:
            message["metadata"] = _validate_metadata(args["metadata"])
        return {"channel": channel, "ts": ts}

    def _m_chat_getPermalink(self, args: dict) -> dict:
        channel, ts = _required(args, "channel"), _required(args, "message_ts")
        if self.find_message(channel, ts) is None:
            raise SlackApiError("message_not_found")
        return {
            "permalink": f"https://emulated.slack.test/archives/{channel}/p{ts.replace('.', '')}"
        }

    def _m_chat_startStream(self, args: dict) -> dict:
        channel, thread_ts = _required(args, "channel"), _required(args, "thread_ts")
        if not self.streaming_enabled:
            raise SlackApiError("streaming_disabled")
        if not channel.startswith("D") and not (
            args.get("recipient_user_id") and args.get("recipient_team_id")
        ):
            raise SlackApiError("missing_recipient_user_id")
        text = args.get("markdown_text") or ""
        _check_markdown(text)
        message = self._bot_message(
            {"channel": channel, "thread_ts": thread_ts, "text": text or " "}
        )
        message["text"] = text
        message["streaming"] = True
        self._store(channel, message)
        self._streams[message["ts"]] = message
        return {"channel": channel, "ts": message["ts"]}

    def _stream(self, args: dict) -> dict[str, Any]:
        _required(args, "channel")
        ts = _required(args, "ts")
        message = self._streams.get(ts)
        if message is None or not message.get("streaming"):
            raise SlackApiError("message_not_in_streaming_state")
        return message

    def _m_chat_appendStream(self, args: dict) -> dict:
        message = self._stream(args)
        text = _required(args, "markdown_text")
        _check_markdown(message["text"] + text)
        message["text"] += text
        return {"channel": message["channel"], "ts": message["ts"]}

    def _m_chat_stopStream(self, args: dict) -> dict:
        message = self._stream(args)
        text = args.get("markdown_text") or ""
        _check_markdown(message["text"] + text)
        if args.get("blocks") is not None:
            self._validate_blocks(args["blocks"], MESSAGE_BLOCKS_LIMIT, "chat.stopStream")
            message["blocks"] = args["blocks"]
        if args.get("metadata") is not None:
            message["metadata"] = _validate_metadata(args["metadata"])
        message["text"] += text
        message["streaming"] = False
        return {"channel": message["channel"], "ts": message["ts"], "message": message}

    def _m_assistant_threads_setStatus(self, args: dict) -> dict:
        _required(args, "channel_id")
        _required(args, "thread_ts")
        if not isinstance(args.get("status"), str):  # "" clears it
            raise SlackApiError("invalid_arguments")
        loading = args.get("loading_messages")
        if isinstance(loading, str):
            loading = _json_argument(loading)
        if loading is not None and (
            not isinstance(loading, list) or len(loading) > MAX_LOADING_MESSAGES
        ):
            raise SlackApiError("invalid_arguments")
        if not str(args["channel_id"]).startswith("D"):
            raise SlackApiError("not_allowed_token_type")
        thread = self.assistant_threads.get((args["channel_id"], str(args["thread_ts"])))
        if thread is not None:
            thread["status"] = args["status"] or None
        return {}

    def _assistant_thread(self, args: dict) -> dict[str, Any]:
        channel, thread_ts = _required(args, "channel_id"), str(_required(args, "thread_ts"))
        if channel not in self.messages:
            raise SlackApiError("channel_not_found")
        thread = self.assistant_threads.get((channel, thread_ts))
        if thread is None:
            raise SlackApiError("invalid_thread_ts")
        return thread

    def _m_assistant_threads_setSuggestedPrompts(self, args: dict) -> dict:
        thread = self._assistant_thread(args)
        prompts = _required(args, "prompts")
        if isinstance(prompts, str):
            prompts = _json_argument(prompts)
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_SUGGESTED_PROMPTS:
            raise SlackApiError("invalid_arguments")
        for prompt in prompts:
            if not (
                isinstance(prompt, dict)
                and set(prompt) == {"title", "message"}
                and all(isinstance(prompt[k], str) and prompt[k].strip() for k in prompt)
            ):
                raise SlackApiError("invalid_arguments")
        title = args.get("title")
        if title is not None and not isinstance(title, str):
            raise SlackApiError("invalid_arguments")
        thread["prompts"] = {"title": title, "prompts": prompts}
        return {}

    def _m_assistant_threads_setTitle(self, args: dict) -> dict:
        thread = self._assistant_thread(args)
        title = _required(args, "title")
        if not isinstance(title, str) or not title.strip():
            raise SlackApiError("invalid_arguments")
        thread["title"] = title
        return {}

    def _history(self, args: dict, root_ts: str | None) -> dict:
        """A thread's replies (oldest first) or a channel's history (newest first), as Slack
        pages them: `oldest`/`latest` (exclusive unless `inclusive`) before `limit`, the next
        page through `response_metadata.next_cursor`."""
        channel = _required(args, "channel")
        if channel not in self.messages and channel not in self.channels:
            raise SlackApiError("channel_not_found")
        include_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        oldest, latest = args.get("oldest"), args.get("latest")
        found = []
        for message in self.messages[channel]:
            if root_ts is not None and not (
                message["ts"] == root_ts or message.get("thread_ts") == root_ts
            ):
                continue
            if root_ts is None and message.get("thread_ts") not in (None, message["ts"]):
                continue
            if root_ts is None and not _within(message["ts"], oldest, latest, inclusive):
                continue
            copy = {k: v for k, v in message.items() if k not in ("channel", "streaming")}
            if not include_metadata:
                copy.pop("metadata", None)
            found.append(copy)
        limit = int(args.get("limit") or 100)
        if root_ts is None:
            found.reverse()  # history is newest first
        cursor = str(args.get("cursor") or "")
        if cursor and not cursor.startswith("next:"):
            raise SlackApiError("invalid_cursor")
        offset = int(cursor.removeprefix("next:") or 0) if cursor else 0
        more = offset + limit < len(found)
        return {
            "messages": found[offset : offset + limit],
            "has_more": more,
            "response_metadata": {"next_cursor": f"next:{offset + limit}" if more else ""},
        }

    def _m_conversations_replies(self, args: dict) -> dict:
        return self._history(args, _required(args, "ts"))

    def _m_conversations_history(self, args: dict) -> dict:
        return self._history(args, None)

    def _m_conversations_info(self, args: dict) -> dict:
        channel = _required(args, "channel")
        known = self.channels.get(channel)
        if known is not None:  # as Slack describes it (an unlisted C… one: by its ID only)
            return {"channel": {**known, "is_im": False}}
        return {
            "channel": {"id": channel, "name": channel.lower(), "is_im": channel.startswith("D")}
        }

    def _m_conversations_list(self, args: dict) -> dict:
        limit = int(args.get("limit") or 100)
        if not 1 <= limit <= 1000:
            raise SlackApiError("invalid_limit")
        types = set(str(args.get("types") or "public_channel").split(","))
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            raise SlackApiError("invalid_types")
        exclude_archived = str(args.get("exclude_archived", "")).lower() in ("1", "true")
        listed = [
            channel
            for _, channel in sorted(self.channels.items())
            if ("private_channel" if channel["is_private"] else "public_channel") in types
            and not (exclude_archived and channel["is_archived"])
        ]
        cursor = str(args.get("cursor") or "")
        if cursor and not cursor.startswith("next:"):
            raise SlackApiError("invalid_cursor")
        offset = int(cursor.removeprefix("next:") or 0) if cursor else 0
        page = listed[offset : offset + limit]
        more = offset + limit < len(listed)
        return {
            "channels": page,
            "response_metadata": {"next_cursor": f"next:{offset + limit}" if more else ""},
        }

    def _m_users_info(self, args: dict) -> dict:
        user = _required(args, "user")
        if user not in self.users:
            raise SlackApiError("user_not_found")
        return {"user": self.users[user]}

    def _m_views_open(self, args: dict) -> dict:
        trigger = _required(args, "trigger_id")
        issued = self._triggers.pop(trigger, None)
        if issued is None or time.monotonic() - issued > 3.0:
            raise SlackApiError("expired_trigger_id")
        view = self._validate_view(_required(args, "view"), "views.open")
        view_id = f"V{next(self._view_counter):08d}"
        stored = {**view, "id": view_id, "state": {"values": {}}}
        self.views[view_id] = stored
        return {"view": stored}

    def _m_views_update(self, args: dict) -> dict:
        view_id = _required(args, "view_id")
        if view_id not in self.views:
            raise SlackApiError("not_found")
        view = self._validate_view(_required(args, "view"), "views.update")
        self.views[view_id] = {**view, "id": view_id, "state": {"values": {}}}
        return {"view": self.views[view_id]}

    def _m_views_publish(self, args: dict) -> dict:
        """The App Home tab of `user_id` (needs `home_tab_enabled`); `hash` guards against
        overwriting a newer view (`hash_conflict`)."""
        user = _required(args, "user_id")
        view = self._validate_view(_required(args, "view"), "views.publish")
        if view.get("type") != "home":
            raise SlackApiError("invalid_arguments")
        current = self.home_views.get(user)
        if args.get("hash") and current is not None and args["hash"] != current["hash"]:
            raise SlackApiError("hash_conflict")
        view_id = current["id"] if current else f"V{next(self._view_counter):08d}"
        stored = {**view, "id": view_id, "hash": f"{time.time():.6f}", "state": {"values": {}}}
        self.home_views[user] = stored
        return {"view": stored}

    # -- checks ----------------------------------------------------------------------------

    def _validate_blocks(self, blocks: Any, limit: int, surface: str) -> None:
        """Block Kit as Slack checks it; the data blocks as `surface` takes them."""
        if isinstance(blocks, list):
            data = [b for b in blocks if isinstance(b, dict) and b.get("type") in DATA_BLOCK_TYPES]
            if data and surface in self.data_blocks_refused_by:
                self.data_blocks_refusals.append(surface)
                raise SlackApiError("invalid_blocks")
            try:
                check_data_blocks(data)
            except InvalidDataBlock as error:
                self.refusals.append(str(error))
                raise SlackApiError("invalid_blocks") from None
            blocks = [b for b in blocks if not (isinstance(b, dict) and b in data)]
            if len(blocks) + len(data) > limit:
                raise SlackApiError("invalid_blocks")
        _validate_blocks(blocks, limit)

    def _validate_view(self, raw: Any, surface: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise SlackApiError("invalid_arguments")
        blocks = raw.get("blocks") or []
        self._validate_blocks(blocks, MODAL_BLOCKS_LIMIT, surface)
        others = [
            b for b in blocks if not (isinstance(b, dict) and b.get("type") in DATA_BLOCK_TYPES)
        ]
        _validate_view({**raw, "blocks": others})
        return raw

    def _m_reactions_add(self, args: dict) -> dict:
        _required(args, "channel")
        _required(args, "name")
        _required(args, "timestamp")
        return {}


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def _required(args: dict, key: str) -> Any:
    value = args.get(key)
    if value in (None, ""):
        raise SlackApiError("invalid_arguments")
    return value


def _json_argument(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise SlackApiError("invalid_arguments") from None


def _check_markdown(text: str) -> None:
    if len(text) > MARKDOWN_TOTAL_LIMIT:
        raise SlackApiError("msg_too_long")


def _validate_blocks(blocks: Any, limit: int) -> None:
    if not isinstance(blocks, list) or len(blocks) > limit:
        raise SlackApiError("invalid_blocks")
    markdown_total = 0
    for raw in blocks:
        if not isinstance(raw, dict):
            raise SlackApiError("invalid_blocks")
        try:
            block = Block.parse(raw)
            if block is None or type(block) is Block:
                raise SlackApiError("invalid_blocks")
            block.to_dict()  # runs slack_sdk's Block Kit validators
        except (SlackObjectFormationError, KeyError, TypeError, ValueError):
            raise SlackApiError("invalid_blocks") from None
        if raw.get("type") == "markdown":
            markdown_total += len(raw.get("text") or "")
    if markdown_total > MARKDOWN_TOTAL_LIMIT:
        raise SlackApiError("invalid_blocks")


def _validate_view(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SlackApiError("invalid_arguments")
    try:
        View(**raw).to_dict()
    except (SlackObjectFormationError, KeyError, TypeError, ValueError):
        raise SlackApiError("invalid_arguments") from None
    _validate_blocks(raw.get("blocks") or [], MODAL_BLOCKS_LIMIT)
    if len(str(raw.get("private_metadata") or "")) > 3000:
        raise SlackApiError("invalid_arguments")
    return raw


def _validate_metadata(raw: Any) -> dict[str, Any]:
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("event_type"), str)
        or not isinstance(raw.get("event_payload"), dict)
    ):
        raise SlackApiError("invalid_metadata_format")
    return raw


def _within(ts: str, oldest: object, latest: object, inclusive: bool) -> bool:
    """Whether a message's `ts` is inside conversations.history's `oldest`..`latest`."""
    moment = float(ts)
    if oldest and (moment < float(str(oldest)) or (moment == float(str(oldest)) and not inclusive)):
        return False
    return not (
        latest and (moment > float(str(latest)) or (moment == float(str(latest)) and not inclusive))
    )
