"""The Slack Web API emulator, plus what a Slack client keeps for its user: the modal on
screen, where ephemeral and `response_url` messages go, and a change counter for the page."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from devkit.slack_api import SlackEmulator
from sandbox import CHANNEL_ID, SANDBOX_USER_ID, SANDBOX_USER_NAME, TEAM_ID


class SandboxSlack(SlackEmulator):
    def __init__(self, **identity: str) -> None:
        super().__init__(**identity)
        self.version = 0
        self.modals: list[str] = []  # the view IDs on screen, the top one last
        self.modal_errors: dict[str, dict[str, str]] = {}
        self.responses: list[dict[str, Any]] = []  # response_url posts and app replies shown
        self._response_contexts: dict[str, dict[str, Any]] = {}
        self.users[SANDBOX_USER_ID] = {
            "id": SANDBOX_USER_ID,
            "team_id": TEAM_ID,
            "name": SANDBOX_USER_NAME,
            "real_name": "Sandbox User",
            "is_admin": True,
            "is_owner": False,
            "is_bot": False,
            "deleted": False,
            "profile": {"display_name": SANDBOX_USER_NAME, "real_name": "Sandbox User"},
        }
        self.add_channel(CHANNEL_ID, "general")
        # The sandbox user's feedback_buttons choices: (channel, ts) → block index → choice.
        self.feedback_choices: dict[tuple[str, str], dict[str, str]] = {}

    def _notify(self) -> None:
        self.version += 1
        super()._notify()

    def touch(self) -> None:
        """Tell the page something changed."""
        self._notify()

    # -- what the client shows -------------------------------------------------------------

    def new_response_url(self, context: dict[str, Any]) -> str:
        """A `response_url` for an interaction or command; `context` says where replies go."""
        key = secrets.token_hex(8)
        self._response_contexts[key] = context
        return f"{self.base_url}/response/{key}"

    def show_response(
        self, channel: str, thread_ts: str | None, payload: dict[str, Any], sender: str = "app"
    ) -> str:
        """Show an app's reply; its ts is returned."""
        ts = self.new_ts()
        self.responses.append(
            {
                "ts": ts,
                "channel": channel,
                "thread_ts": thread_ts,
                "text": payload.get("text") or "",
                "blocks": payload.get("blocks") or [],
                "response_type": payload.get("response_type") or "ephemeral",
                "sender": sender,
            }
        )
        self._notify()
        return ts

    def ephemeral_message(self, ts: str) -> dict[str, Any] | None:
        return next((e for e in self.ephemeral if e.get("message_ts") == ts), None)

    def response_message(self, ts: str) -> dict[str, Any] | None:
        return next((r for r in self.responses if r["ts"] == ts), None)

    # -- reactions and vote highlights ---------------------------------------------------------

    def toggle_reaction(self, channel: str, ts: str, user: str, name: str) -> bool | None:
        """Add the user's `name` reaction to the message, or remove it if there: True if added,
        None if there is no such message. Kept as Slack shows it (`reactions`)."""
        message = self.find_message(channel, ts)
        if message is None:
            return None
        reactions = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        if entry is None:
            entry = {"name": name, "users": [], "count": 0}
            reactions.append(entry)
        added = user not in entry["users"]
        if added:
            entry["users"].append(user)
        else:
            entry["users"].remove(user)
        entry["count"] = len(entry["users"])
        message["reactions"] = [r for r in reactions if r["count"]]
        self._notify()
        return added

    def remember_choice(self, channel: str, ts: str, block: int, choice: str) -> None:
        """A feedback_buttons click: Slack keeps the button selected, across reloads too."""
        self.feedback_choices.setdefault((channel, ts), {})[str(block)] = choice
        self._notify()

    def close_modal(self, view_id: str, *, clear: bool = False) -> None:
        if clear:
            self.modals.clear()
        elif view_id in self.modals:
            self.modals.remove(view_id)
        self._notify()

    def store_view(self, raw: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        """Validate and keep a view (from `response_action: update/push`), as views.* do."""
        if view_id is None:
            view_id = self._m_views_open({"trigger_id": self.new_trigger(), "view": raw})["view"][
                "id"
            ]
        else:
            self._m_views_update({"view_id": view_id, "view": raw})
        return self.views[view_id]

    # -- Web API methods, with the client's side effects -----------------------------------

    def _m_views_open(self, args: dict) -> dict:
        result = super()._m_views_open(args)
        view = self.views[result["view"]["id"]]
        _complete_ids(view)
        self.modals.append(view["id"])
        return {"view": view}

    def _m_views_update(self, args: dict) -> dict:
        result = super()._m_views_update(args)
        view = self.views[result["view"]["id"]]
        _complete_ids(view)
        self.modal_errors.pop(view["id"], None)
        return {"view": view}

    def _m_chat_getPermalink(self, args: dict) -> dict:
        """A link into this page that opens the message (in its assistant chat, if it is in
        one), where Slack's would open it in Slack."""
        super()._m_chat_getPermalink(args)  # the same checks: the message must exist
        return {"permalink": message_link(self.base_url, args["channel"], args["message_ts"])}

    def _m_chat_postEphemeral(self, args: dict) -> dict:
        result = super()._m_chat_postEphemeral(args)
        self.ephemeral[-1]["message_ts"] = result["message_ts"]
        return result

    async def _response_url(self, request: web.Request) -> web.Response:
        response = await super()._response_url(request)
        key = request.match_info["key"]
        context = self._response_contexts.get(key)
        if response.status == 200 and context is not None:
            self._apply_response(context, self.response_url_posts[key][-1])
        return response

    def _apply_response(self, context: dict[str, Any], payload: dict[str, Any]) -> None:
        """What Slack does with a `response_url` post: replace or delete the original
        message, or show a new (by default ephemeral) one."""
        original = self._original(context)
        if original is not None and payload.get("delete_original"):
            if original in self.messages[context["channel"]]:
                self.messages[context["channel"]].remove(original)
            original["deleted"] = True
        elif original is not None and payload.get("replace_original"):
            original["text"] = payload.get("text") or ""
            original["blocks"] = payload.get("blocks") or []
        else:
            self.show_response(context["channel"], context.get("thread_ts"), payload)
            return
        self._notify()

    def _original(self, context: dict[str, Any]) -> dict[str, Any] | None:
        source, channel, ts = context.get("source"), context.get("channel"), context.get("ts")
        if source == "message" and channel and ts:
            return self.find_message(channel, ts)
        if source == "ephemeral" and ts:
            return self.ephemeral_message(ts)
        if source == "response" and ts:
            return self.response_message(ts)
        return None


def message_link(page_url: str, channel: str, ts: str) -> str:
    """The sandbox page, opened at a message (static/app.js reads the fragment)."""
    return f"{page_url}/#message/{channel}/{ts}"


def _complete_ids(view: dict[str, Any]) -> None:
    """Slack gives every block a block_id and every element an action_id when the app did not."""
    for index, block in enumerate(view.get("blocks") or []):
        block.setdefault("block_id", f"sandbox-block-{index}")
        element = block.get("element") or block.get("accessory")
        if isinstance(element, dict):
            element.setdefault("action_id", f"sandbox-action-{index}")
