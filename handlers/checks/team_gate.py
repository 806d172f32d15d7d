"""Which organisation the bot serves: the one rule, for every payload and both transports.

An employee bot answers its own workspace (or Enterprise Grid org) only. A payload is served
when both of these belong to the allow-list (`SLACK_ALLOWED_TEAM_IDS`, T… and E… IDs; unset: the
team and enterprise `auth.test` reports for the bot token, which Bolt asks once and caches):

- the workspace it was sent for: every team ID naming it (an event's `team_id` and
  `authorizations[0].team_id`; an interaction's `team.id`; a command's `team_id`) is listed, or
  its enterprise (`enterprise_id`, `enterprise.id`, as Bolt reads it) is;
- the person acting: every team ID naming theirs (an event's `user_team`, `team` and
  `source_team`, which differ from the workspace's for people of other organisations in Slack
  Connect channels; an interaction's `user.team_id`) is listed, or is the workspace's own team
  while its enterprise is listed. So with only an E… ID listed, people of the org's other
  workspaces count as ours where the payload names their workspace; list those T… IDs too for
  org-wide installs (Slack cannot tell them from Slack Connect guests in a payload alone).

Anything else (no workspace at all, a foreign team, an ID that is not a string) is acked with an
empty 200, so Slack does not retry it, and logged on one INFO line without user text: no answer,
no vote, no modal, no report. It is a Bolt global middleware, so it runs after Bolt's own checks
and before any listener, whichever front (HTTP or Socket Mode) the payload came through.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_enterprise_id
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

_EVENT_USER_TEAMS = ("user_team", "team", "source_team")


def is_ours(body: dict[str, Any], allowed: frozenset[str]) -> bool:
    """Whether the workspace this payload was sent for and the person acting are both ours."""
    workspace = _workspace_teams(body)
    org_listed = _listed(extract_enterprise_id(body), allowed)
    if not org_listed and not (workspace and all(_listed(team, allowed) for team in workspace)):
        return False
    return all(
        _listed(team, allowed) or (org_listed and team in workspace) for team in _user_teams(body)
    )


def _listed(team_id: object, allowed: frozenset[str]) -> bool:
    return isinstance(team_id, str) and team_id in allowed


def allowed_teams(
    configured: frozenset[str], installation: AuthorizeResult | None
) -> frozenset[str]:
    """The allow-list: as configured, or else the installation's own team and enterprise."""
    if configured or installation is None:
        return configured
    return frozenset(i for i in (installation.team_id, installation.enterprise_id) if i)


class OnlyOurOrganisation(AsyncMiddleware):
    """`is_ours` as a Bolt global middleware: Bolt hands it the request as it is (a function
    middleware has its arguments built anew on every request)."""

    def __init__(self, configured: frozenset[str]) -> None:
        self._configured = configured

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # Bolt passes it by this name
    ) -> BoltResponse | None:
        body = req.body
        if is_ours(body, allowed_teams(self._configured, req.context.authorize_result)):
            return await next()
        log.info(
            "ignored a %s from outside the allowed teams (teams %s, enterprise %s)",
            _kind(body),
            _shown([*_workspace_teams(body), *_user_teams(body)]),
            _shown([extract_enterprise_id(body)]),
        )
        return BoltResponse(status=200, body="")


def register(app: AsyncApp, configured: frozenset[str]) -> None:
    app.use(OnlyOurOrganisation(configured))


def _workspace_teams(body: dict[str, Any]) -> list[object]:
    named = [body.get("team_id")]
    team = body.get("team")
    named.append(team.get("id") if isinstance(team, dict) else team)
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations and isinstance(authorizations[0], dict):
        named.append(authorizations[0].get("team_id"))
    return [team_id for team_id in named if team_id is not None]


def _user_teams(body: dict[str, Any]) -> list[object]:
    event, user = body.get("event"), body.get("user")
    if isinstance(event, dict):
        named = [event.get(field) for field in _EVENT_USER_TEAMS]
    else:
        named = [user.get("team_id") if isinstance(user, dict) else None]
    return [team_id for team_id in named if team_id is not None]


def _kind(body: dict[str, Any]) -> str:
    """What the payload is, for the log (never its text): the event type, or the payload type."""
    event = body.get("event")
    if isinstance(event, dict) and event.get("type") is not None:
        return _shown([event["type"]]) + " event"
    return _shown([body.get("type") or ("command" if "command" in body else None)])


def _shown(values: list[object]) -> str:
    """IDs for one log line: each quoted and cut short (a payload's values may be anything)."""
    return ",".join(repr(value)[:40] for value in values if value is not None) or "none"
