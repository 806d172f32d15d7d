"""Fuzzing: strangely shaped payloads of every kind the bot handles, over signed HTTP and over
Socket Mode (each example picks its transport; the fuzzed bot serves both).

Every request is answered within Slack's 3 s with a 2xx or 4xx; the bot stays healthy; its log
holds no error or traceback; and MLflow holds nothing the fuzzing did not legitimately cause.

That last check is strict and exact. The fuzzed bot is a process of its own with an experiment
of its own. A fuzzed event that the bot accepted (2xx) and that is a real question to the bot
(by Slack's rules, `is_question` below) must produce exactly one trace, and nothing else may:
the experiment's traces are exactly the seed answers plus those questions. Fuzzed clicks and
submissions carry the real trace IDs of the seed answers, but each one is broken in at least one
way that must stop it (no user, not our message, no vote value, tampered modal metadata, no
valid scores; a reason click by someone else, asked too long ago, not as signed or not offered):
the outbox must stay empty and no trace may get an assessment.

Over Socket Mode every envelope is acked (Slack knows no status code): an envelope counts as
refused, like an HTTP 4xx, when the bot's log names it as a refused malformed payload.

Scale: `HYPOTHESIS_PROFILE=deep` runs ten times the CI examples (see tests/support/fuzzing.py).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.runtime.http_front import MAX_BODY_BYTES
from devkit.bot_process import BotProcess
from devkit.conversation import final_answer, open_rating_modal, trace_id_of
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import (
    Workspace,
    dm,
    follow_up_click,
    mention,
    rate_click,
    rating_submission,
    vote_click,
)
from devkit.slack_requests import SlackSender, SocketModeSender
from devkit.traces import Tracking
from devkit.waiting import eventually
from handlers.checks.guard import malformed_reason
from handlers.views.reason_prompt import ReasonSigner, ReasonTarget, follow_up_blocks
from tests.support.fuzzing import (
    ENORMOUS_TEXT,
    ODD_TEXT,
    ODD_VALUES,
    LoopBridge,
    fuzz_settings,
    mutated,
    replace_placeholders,
    replay_hint,
    run_property,
)
from tests.support.suite import SIGNING_SECRET, TEAM_ID

pytestmark = pytest.mark.slow

SLACK_ACK_S = 3.0
BOT_USER, BOT_ID, APP_ID = "UBOT", "BBOT", "ABOT"
OTHER_TEAMS = ("TOTHER0001", "E0OTHERORG")  # neither the bot's team nor its enterprise
TRANSPORTS = st.sampled_from(["http", "socket_mode"])
ENVELOPE_TYPES = {"event": "events_api", "interaction": "interactive", "command": "slash_commands"}
REFUSED_ENVELOPE = re.compile(r"refused a malformed Slack payload \(envelope ([0-9a-f-]+)\)")
SLACK_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")
SLACK_ID = re.compile(r"[A-Za-z0-9_-]{2,64}")
ANSWERABLE_SUBTYPES = (None, "thread_broadcast", "file_share")


# -- the fuzzed bot ---------------------------------------------------------------------------


@dataclass
class FuzzedBot:
    process: BotProcess
    sender: SlackSender
    socket: SocketModeSender
    tracking: Tracking
    answers: list[dict[str, Any]]  # seed answers, in channels of their own
    rating_view: dict[str, Any]  # a modal the bot opened on answers[0]
    expected_requests: set[str] = field(default_factory=set)  # client_request_id of each trace
    log_offset: int = 0  # where the current test's part of the bot's log starts

    @property
    def trace_ids(self) -> list[str]:
        return [trace_id_of(answer) for answer in self.answers]


@pytest.fixture(scope="module")
async def fuzzed(
    bot_env: dict[str, str], tmp_root: Path, mlflow_server: MlflowServer, slack: SlackEmulator
) -> AsyncIterator[FuzzedBot]:
    experiment = f"fuzz-{uuid.uuid4().hex[:8]}"
    app_token = slack.socket_mode.new_app_token()
    env = {
        **bot_env,
        "SLACK_APP_TOKEN": app_token,  # Socket Mode, and HTTP all the same
        "MLFLOW_EXPERIMENT_NAME": experiment,
        "BOT_DATA_DIR": str(tmp_root / experiment),
        # The deep profile answers hundreds of questions a minute, and the test tracking server
        # is one worker on SQLite: give trace export room, so a lost trace means a bug.
        "MLFLOW_REQUEST_TIMEOUT_S": "30",
        "MLFLOW_REQUEST_RETRIES": "3",
    }
    process = BotProcess(env, tmp_root / f"{experiment}.log")
    await asyncio.to_thread(process.start)
    sender = SlackSender(process.url, SIGNING_SECRET, TEAM_ID, APP_ID)
    try:
        answers, requests = [], set()
        for event in (
            dm(new_id("U"), new_id("D"), "seed one"),
            mention(new_id("U"), new_id("C"), "seed two"),
        ):
            await sender.event(event)
            answers.append(await final_answer(slack, event["channel"]))
            requests.add(f"{event['channel']}:{event['ts']}")
        view = await open_rating_modal(sender, slack, answers[0], new_id("U"))
        tracking = await asyncio.to_thread(Tracking, mlflow_server.url, experiment)
        socket = SocketModeSender(slack.socket_mode, app_token, Workspace.of(slack))
        yield FuzzedBot(process, sender, socket, tracking, answers, view, requests)
    finally:
        await sender.close()
        await asyncio.to_thread(process.stop)


_counter = itertools.count(1)


def new_ts() -> str:
    """A unique, real-looking Slack timestamp."""
    return f"{int(time.time())}.{next(_counter):06d}"


def fresh_values(slack: SlackEmulator) -> dict[str, Any]:
    """Placeholders in the templates, made new for every example (so no two share a channel or a
    message, and a thread the bot answered in one example is never continued in another)."""
    return {
        "$DM": new_id("D"),
        "$CHANNEL": new_id("C"),
        "$USER": new_id("U"),
        "$TS": new_ts(),
        "$ROOT_TS": new_ts(),
        "$EVENT_ID": f"Ev{uuid.uuid4().hex[:12].upper()}",
        "$TRIGGER": slack.new_trigger(),
    }


# -- what Slack means (the oracle), written from Slack's documentation, not from the bot ------


def is_question(envelope: Any) -> str | None:
    """The request ID (`channel:ts`) if this event is a person's message to the bot."""
    if not isinstance(envelope, dict) or envelope.get("type") != "event_callback":
        return None
    event = envelope.get("event")
    if not isinstance(event, dict) or event.get("type") not in ("message", "app_mention"):
        return None
    subtype = event.get("subtype")
    if not (subtype is None or (isinstance(subtype, str) and subtype in ANSWERABLE_SUBTYPES)):
        return None
    if event.get("bot_id"):
        return None
    user, channel, ts, text = (event.get(k) for k in ("user", "channel", "ts", "text"))
    if not all(isinstance(v, str) and SLACK_ID.fullmatch(v) for v in (user, channel)):
        return None
    if not isinstance(ts, str) or not SLACK_TS.fullmatch(ts) or user == BOT_USER:
        return None
    thread_ts = event.get("thread_ts")
    if thread_ts not in (None, "") and not (
        isinstance(thread_ts, str) and SLACK_TS.fullmatch(thread_ts)
    ):
        return None
    if not isinstance(text, str) or not text.strip() or not from_our_team(envelope, event):
        return None
    channel_type = event.get("channel_type")
    is_dm = (
        channel_type == "im"
        if isinstance(channel_type, str) and channel_type
        else str(channel).startswith("D")
    )
    addressed = is_dm or event["type"] == "app_mention" or f"<@{BOT_USER}" in text
    return f"{channel}:{ts}" if addressed else None


def from_our_team(envelope: dict[str, Any], event: dict[str, Any]) -> bool:
    """An employee bot serves its own workspace: the envelope names one, and every team ID it
    carries for the workspace (`team_id`, `authorizations[0].team_id`) and for the person
    (`user_team`, `team`, `source_team`: Slack Connect guests carry their own) is ours."""
    named = [envelope.get("team_id")]
    authorizations = envelope.get("authorizations")
    if isinstance(authorizations, list) and authorizations and isinstance(authorizations[0], dict):
        named.append(authorizations[0].get("team_id"))
    workspace = [team for team in named if team is not None]
    people = [event[key] for key in ("user_team", "team", "source_team") if key in event]
    people = [team for team in people if team is not None]
    return bool(workspace) and all(team == TEAM_ID for team in workspace + people)


# -- templates --------------------------------------------------------------------------------

QUESTION_TEXT = st.one_of(
    st.text(min_size=1, max_size=200), ODD_TEXT, ENORMOUS_TEXT, st.just("What is the VPN?")
)
SUBTYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "thread_broadcast",
            "file_share",
            "message_changed",
            "message_deleted",
            "bot_message",
            "channel_join",
            "me_message",
            "huddle_thread",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def message_events(draw: st.DrawFn) -> dict[str, Any]:
    text = draw(QUESTION_TEXT)
    kind = draw(st.sampled_from(["dm", "dm_thread", "mention", "channel", "app_mention"]))
    event: dict[str, Any] = {
        "type": "app_mention" if kind == "app_mention" else "message",
        "channel": "$DM" if kind.startswith("dm") else "$CHANNEL",
        "user": "$USER",
        "text": text if kind.startswith("dm") or kind == "channel" else f"<@{BOT_USER}> {text}",
        "ts": "$TS",
        "event_ts": "$TS",
    }
    if kind != "app_mention":
        event["channel_type"] = "im" if kind.startswith("dm") else "channel"
    if kind == "dm_thread":
        event["thread_ts"] = "$ROOT_TS"
    if draw(st.integers(0, 3)) == 0:
        event["subtype"] = draw(SUBTYPES)
    if draw(st.integers(0, 9)) == 0:
        event["bot_id"] = draw(st.sampled_from([BOT_ID, "BOTHER"]))
    if draw(st.integers(0, 4)) == 0:  # a shared channel: someone of ours, or a guest
        event[draw(st.sampled_from(["user_team", "team"]))] = draw(
            st.sampled_from([TEAM_ID, *OTHER_TEAMS])
        )
    return draw(envelopes(event))


@st.composite
def other_events(draw: st.DrawFn, answer: dict[str, Any]) -> dict[str, Any]:
    """Reactions (on a stranger's message, or on our answer by nobody), and event types the bot
    does not know."""
    kind = draw(
        st.one_of(
            st.sampled_from(
                [
                    "reaction_added",
                    "reaction_removed",
                    "app_home_opened",
                    "member_joined_channel",
                    "assistant_thread_started",
                    "message_metadata_posted",
                ]
            ),
            st.text(min_size=1, max_size=20),
        )
    )
    on_our_answer = draw(st.booleans())
    event: dict[str, Any] = {
        "type": kind,
        "user": "$USER",
        "reaction": draw(
            st.one_of(
                st.sampled_from(["+1", "-1", "thumbsup", "thumbsdown", "+1::skin-tone-3"]), ODD_TEXT
            )
        ),
        "item": {
            "type": "message",
            "channel": answer["channel"] if on_our_answer else "$CHANNEL",
            "ts": answer["ts"] if on_our_answer else "$TS",
        },
        "item_user": BOT_USER,
        "event_ts": "$TS",
    }
    envelope = draw(envelopes(event))
    if on_our_answer:  # whatever a reaction may come to mean, nobody made this one
        _set(envelope.get("event"), "user", draw(NO_USER_ID))
    return envelope


@st.composite
def assistant_events(draw: st.DrawFn) -> dict[str, Any]:
    """The assistant panel's thread started or its context changed (the greeting may go out;
    no trace may come of it)."""
    context = {
        "channel_id": draw(st.sampled_from(["$CHANNEL", "$DM", None])),
        "team_id": TEAM_ID,
        "enterprise_id": None,
    }
    event = {
        "type": draw(
            st.sampled_from(["assistant_thread_started", "assistant_thread_context_changed"])
        ),
        "assistant_thread": {
            "user_id": "$USER",
            "channel_id": "$DM",
            "thread_ts": "$ROOT_TS",
            "context": context,
        },
        "event_ts": "$TS",
    }
    return draw(envelopes(event))


@st.composite
def envelopes(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    """`event` (mutated, or not) in an Events API envelope (mutated, or not)."""
    if draw(st.booleans()):
        event = draw(mutated(event))
    envelope = {
        "token": "legacy-unused",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": "$EVENT_ID",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": True}],
    }
    if draw(st.integers(0, 4)) == 0:
        envelope["is_ext_shared_channel"] = draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:  # a workspace the bot is not installed in
        envelope["team_id"] = draw(st.sampled_from(OTHER_TEAMS))
    return draw(st.one_of(st.just(envelope), mutated(envelope)))


# Breakers: each makes a click or a submission unrecordable, whatever else is in it.
NO_USER_ID = st.one_of(
    st.sampled_from([None, "", 0, [], {}]),
    ODD_VALUES.filter(lambda v: not isinstance(v, str)),
)
NO_USER = st.one_of(  # mostly shapes that pass the shape checks and reach the listener
    st.just("<drop>"),
    NO_USER_ID.map(lambda user_id: {"id": user_id}),
    st.just({"name": "no id"}),
    ODD_VALUES.filter(lambda v: not isinstance(v, dict)),
)
NOT_A_VOTE = st.one_of(
    st.just("<drop>"),
    ODD_VALUES.filter(
        lambda v: not (isinstance(v, str) and v.startswith(("positive:", "negative:")))
    ),
)


def _set(container: Any, key: str, value: Any) -> None:
    if not isinstance(container, dict):
        return
    if value == "<drop>":
        container.pop(key, None)
    else:
        container[key] = value


@st.composite
def broken_votes(draw: st.DrawFn, slack: SlackEmulator, answers: list[dict]) -> dict[str, Any]:
    answer = draw(st.sampled_from(answers))
    payload = draw(mutated(vote_click(slack, answer, "$USER", positive=draw(st.booleans()))))
    breakers = draw(
        st.sets(st.sampled_from(["user", "not_ours", "value", "no_message"]), min_size=1)
    )
    if "user" in breakers:
        _set(payload, "user", draw(NO_USER))
    if "not_ours" in breakers:
        foreign = draw(st.sampled_from(["<drop>", "BOTHER", "AOTHER", "", None]))
        _set(payload.get("message"), "bot_id", foreign)
        _set(payload.get("message"), "app_id", draw(st.sampled_from(["<drop>", "AOTHER", None])))
    if "value" in breakers:
        actions = payload.get("actions")
        if isinstance(actions, list) and actions:
            _set(actions[0], "value", draw(NOT_A_VOTE))
    if "no_message" in breakers:
        _set(payload, "message", draw(st.sampled_from(["<drop>", None, {}, "x"])))
    return payload


@st.composite
def rate_clicks(draw: st.DrawFn, slack: SlackEmulator, answers: list[dict]) -> dict[str, Any]:
    """Opening the modal records nothing, so these need no breaker."""
    payload = rate_click(slack, draw(st.sampled_from(answers)), "$USER")
    payload["trigger_id"] = "$TRIGGER"
    return draw(mutated(payload))


REASONER = "UREASONER"


@st.composite
def broken_reason_clicks(
    draw: st.DrawFn, slack: SlackEmulator, answers: list[dict]
) -> dict[str, Any]:
    """Clicks in a "What went wrong?" follow-up the bot could have posted to REASONER, each
    broken: clicked by someone else, a value not as signed, asked too long ago, or a reason
    not offered."""
    answer = draw(st.sampled_from(answers))
    breakers = draw(st.sets(st.sampled_from(["user", "value", "stale", "unknown"]), min_size=1))
    asked = int(time.time()) - (3 * 24 * 3600 if "stale" in breakers else 0)
    target = ReasonTarget(trace_id_of(answer), REASONER, answer["channel"], None, asked)
    labels = {"inaccurate": "Inaccurate", "zzz" if "unknown" in breakers else "other": "Other"}
    blocks = follow_up_blocks(target, labels, ReasonSigner(SIGNING_SECRET))
    follow_up = {"channel": answer["channel"], "blocks": [b.to_dict() for b in blocks]}
    actions = [e["action_id"] for e in follow_up["blocks"][1]["elements"]]
    action_id = actions[1] if "unknown" in breakers else draw(st.sampled_from(actions))
    payload = draw(mutated(follow_up_click(slack, follow_up, REASONER, action_id)))
    if "user" in breakers:
        _set(payload, "user", draw(st.one_of(NO_USER, st.just({"id": "$USER"}))))
    if "value" in breakers:
        actions_sent = payload.get("actions")
        if isinstance(actions_sent, list) and actions_sent:
            _set(actions_sent[0], "value", draw(ODD_VALUES))
    return payload


TRACE_ID_IN_TEXT = re.compile(r"tr-[0-9a-f]{32}")
SCORES = st.one_of(st.none(), st.sampled_from(["1", "3", "5"]), ODD_TEXT)
COMMENTS = st.one_of(st.none(), st.text(max_size=300), ODD_TEXT, ENORMOUS_TEXT)


@st.composite
def broken_submissions(draw: st.DrawFn, view: dict[str, Any]) -> dict[str, Any]:
    scores = {d: draw(SCORES) for d in ("accuracy", "helpfulness", "relevance")}
    payload = draw(mutated(rating_submission(view, "$USER", scores, draw(COMMENTS))))
    breakers = draw(st.sets(st.sampled_from(["user", "metadata", "scores"]), min_size=1))
    if "user" in breakers:
        _set(payload, "user", draw(NO_USER))
    submitted = payload.get("view")
    if "metadata" in breakers:
        # Whatever its layout: the form redirected to another answer, or cut short.
        metadata = str(view["private_metadata"])
        redirected = TRACE_ID_IN_TEXT.sub("tr-" + "0" * 32, metadata)
        _set(
            submitted,
            "private_metadata",
            draw(st.one_of(st.sampled_from(["<drop>", redirected, metadata[:-1]]), ODD_VALUES)),
        )
    if "scores" in breakers and isinstance(submitted, dict):
        state = submitted.get("state")
        values = state.get("values") if isinstance(state, dict) else None
        if isinstance(values, dict):
            dimension = draw(st.sampled_from(["accuracy", "helpfulness", "relevance"]))
            bad = draw(st.one_of(st.none(), st.sampled_from(["0", "6", "x", " 3", ""]), ODD_VALUES))
            values[dimension] = {"score": {"type": "static_select", "selected_option": bad}}
    return payload


@st.composite
def slash_commands(draw: st.DrawFn) -> dict[str, Any]:
    fields = {
        "command": draw(st.one_of(st.just("/feedback-report"), ODD_TEXT)),
        "text": draw(st.one_of(st.sampled_from(["", "7", "30 days", "help"]), ODD_TEXT)),
        "user_id": "$USER",
        "user_name": "someone",
        "channel_id": "$CHANNEL",
        "team_id": TEAM_ID,
        "response_url": "https://hooks.slack.test/commands/1",
        "trigger_id": "$TRIGGER",
        "api_app_id": APP_ID,
    }
    return draw(mutated(fields))


# -- sending ----------------------------------------------------------------------------------


@dataclass
class Sent:
    status: int
    seconds: float
    payload: Any
    envelope_id: str | None = None  # sent over Socket Mode
    body: bytes = b""  # sent over HTTP
    content_type: str = ""


def as_form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


async def send_one(
    fuzzed: FuzzedBot, slack: SlackEmulator, kind: str, template: Any, transport: str
) -> Sent:
    """Send one example (placeholders made fresh here, on the session loop) and time it."""
    payload = replace_placeholders(template, fresh_values(slack))
    if kind == "command":
        payload = {k: as_form_value(v) for k, v in payload.items()}
    started = time.monotonic()
    if transport == "socket_mode":
        envelope_id = await fuzzed.socket.hub.push(
            fuzzed.socket.app_token, ENVELOPE_TYPES[kind], payload
        )
        await fuzzed.socket.hub.wait_for_ack(envelope_id, timeout_s=SLACK_ACK_S * 3)
        return Sent(200, time.monotonic() - started, payload, envelope_id)
    if kind == "event":
        body, content_type = json.dumps(payload).encode(), "application/json"
    elif kind == "interaction":
        body = urlencode({"payload": json.dumps(payload)}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body = urlencode(payload, encoding="utf-8", errors="surrogatepass").encode()
        content_type = "application/x-www-form-urlencoded"
    status, _ = await fuzzed.sender.post(body, content_type)
    return Sent(status, time.monotonic() - started, payload, body=body, content_type=content_type)


def within_a_socket_mode_frame(template: Any) -> bool:
    """Whether Slack could send this payload: over HTTP a body over 1 MiB is refused (413, the
    fuzz sends those too); over Socket Mode the frame stays within the same 1 MiB. (A frame larger
    than the bot's client takes, 4 MiB, makes it drop the connection and connect again:
    tests/test_socket_mode.py; with it the envelope is lost, as Slack's would be.)"""
    return len(json.dumps(template)) <= MAX_BODY_BYTES


def check_answer(sent: Sent) -> None:
    assert 200 <= sent.status < 500, f"HTTP {sent.status} for {sent.payload!r:.2000}"
    assert sent.seconds < SLACK_ACK_S, f"{sent.seconds:.2f} s for {sent.payload!r:.2000}"


async def fuzz(
    fuzzed: FuzzedBot, slack: SlackEmulator, kind: str, payloads: st.SearchStrategy, share: float
) -> list[Sent]:
    """Send every example hypothesis draws from `payloads`; check each answer."""
    bridge = LoopBridge(asyncio.get_running_loop())
    sent: list[Sent] = []
    fuzzed.log_offset = len(fuzzed.process.log())

    @fuzz_settings(share)
    @given(payloads, TRANSPORTS)
    def prop(template: Any, transport: str) -> None:
        if transport == "socket_mode":
            assume(within_a_socket_mode_frame(template))
        result = bridge.run(send_one(fuzzed, slack, kind, template, transport), timeout_s=30)
        sent.append(result)
        check_answer(result)

    print(f"fuzzing {kind}s, {replay_hint()}")  # shown with a failure
    started = time.monotonic()
    await run_property(prop)
    mark_refused_envelopes(fuzzed, sent)
    statuses = Counter((one.status, "socket" if one.envelope_id else "http") for one in sent)
    slowest = max(one.seconds for one in sent)
    questions = sum(1 for one in sent if one.status == 200 and is_question(one.payload))
    print(
        f"fuzzed {len(sent)} {kind}s in {time.monotonic() - started:.1f} s: {dict(statuses)}, "
        f"{questions} questions to answer, slowest answer {slowest:.2f} s"
    )
    return sent


def mark_refused_envelopes(fuzzed: FuzzedBot, sent: list[Sent]) -> None:
    """Socket Mode acks every envelope: those the bot logged as refused count as a 400."""
    log = fuzzed.process.log()[fuzzed.log_offset :]
    refused = set(REFUSED_ENVELOPE.findall(log))
    for one in sent:
        if one.envelope_id in refused:
            one.status = 400


# -- after the fuzzing ------------------------------------------------------------------------


async def assert_no_junk(fuzzed: FuzzedBot, sent: list[Sent]) -> None:
    """Healthy, quiet, and MLflow holds exactly what the legitimate questions caused."""
    # A control question after the fuzzing: once its trace is there, any trace the fuzzing
    # caused had the time to arrive too.
    control = dm(new_id("U"), new_id("D"), "a control question")
    assert (await fuzzed.sender.event(control))[0] == 200
    fuzzed.expected_requests.add(f"{control['channel']}:{control['ts']}")
    for one in sent:
        request_id = is_question(one.payload)
        if request_id is None:
            continue
        # A person's message to the bot is taken, unless it is too large or would crash Bolt.
        taken = len(one.body) <= MAX_BODY_BYTES
        if taken and malformed_reason(one.body, one.content_type) is None:
            assert one.status == 200, f"HTTP {one.status} for a question: {one.payload!r:.2000}"
        if one.status == 200:
            fuzzed.expected_requests.add(request_id)
    base = fuzzed.process.url
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.get(base + "/healthz") as response:
            assert response.status == 200

        async def idle() -> dict:
            async with http.get(base + "/readyz") as response:
                ready = await response.json()
            assert ready["tasks_in_flight"] == 0
            return ready

        ready = await eventually(idle, timeout_s=60)
    assert ready["outbox"]["pending"] == 0 and ready["outbox"]["dead"] == 0, ready
    assert ready["traces_dropped"] == 0 and ready["trace_exports_failed"] == 0, ready

    async def traced() -> list:
        traces = await fuzzed.tracking.asearch()
        assert {t.info.client_request_id for t in traces} >= fuzzed.expected_requests
        return traces

    await eventually(traced, timeout_s=60)
    traces = await fuzzed.tracking.asearch()
    request_ids = [t.info.client_request_id for t in traces]
    assert sorted(request_ids) == sorted(fuzzed.expected_requests)
    assert [t.info.trace_id for t in traces if t.info.assessments] == []

    log = fuzzed.process.log()[fuzzed.log_offset :]
    problems = [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line]
    assert problems == [], "\n".join(problems[:20])


# -- the properties ---------------------------------------------------------------------------


async def test_fuzzed_message_events(fuzzed: FuzzedBot, slack: SlackEmulator) -> None:
    sent = await fuzz(fuzzed, slack, "event", message_events(), share=1.0)
    assert any(is_question(s.payload) for s in sent)  # the fuzzing did reach the answering
    await assert_no_junk(fuzzed, sent)


async def test_fuzzed_reactions_and_unknown_events(fuzzed: FuzzedBot, slack: SlackEmulator) -> None:
    strategy = st.sampled_from(fuzzed.answers).flatmap(other_events)
    sent = await fuzz(fuzzed, slack, "event", strategy, share=1.0)
    await assert_no_junk(fuzzed, sent)


async def test_fuzzed_assistant_panel_events(fuzzed: FuzzedBot, slack: SlackEmulator) -> None:
    sent = await fuzz(fuzzed, slack, "event", assistant_events(), share=0.5)
    await assert_no_junk(fuzzed, sent)


async def test_fuzzed_votes(fuzzed: FuzzedBot, slack: SlackEmulator) -> None:
    sent = await fuzz(fuzzed, slack, "interaction", broken_votes(slack, fuzzed.answers), 1.0)
    await assert_no_junk(fuzzed, sent)


async def test_fuzzed_reason_clicks(fuzzed: FuzzedBot, slack: SlackEmulator) -> None:
    strategy = broken_reason_clicks(slack, fuzzed.answers)
    sent = await fuzz(fuzzed, slack, "interaction", strategy, share=1.0)
    assert "reason refused" in fuzzed.process.log()[fuzzed.log_offset :]  # they reached it
    await assert_no_junk(fuzzed, sent)


async def test_fuzzed_rate_clicks(fuzzed: FuzzedBot, slack: SlackEmulator) -> None:
    sent = await fuzz(fuzzed, slack, "interaction", rate_clicks(slack, fuzzed.answers), 1.0)
    await assert_no_junk(fuzzed, sent)


async def test_fuzzed_rating_submissions(fuzzed: FuzzedBot, slack: SlackEmulator) -> None:
    strategy = broken_submissions(fuzzed.rating_view)
    sent = await fuzz(fuzzed, slack, "interaction", strategy, share=1.0)
    await assert_no_junk(fuzzed, sent)


async def test_fuzzed_slash_commands(fuzzed: FuzzedBot, slack: SlackEmulator) -> None:
    sent = await fuzz(fuzzed, slack, "command", slash_commands(), share=1.0)
    await assert_no_junk(fuzzed, sent)
