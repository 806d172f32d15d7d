"""Alerts in FEEDBACK_ALERT_CHANNEL: the positive rate (for the whole bot and each channel)
judged by bot/broadcast/alert_rules.py, and work waiting in the store too long.

Every FEEDBACK_ALERT_EVERY one instance checks (its turn is claimed in the store,
bot/storage/broadcasts.py). A check costs the tracking server `REQUESTS_PER_CHECK`
aggregate requests (the votes of the window and of the baseline,
bot/report/figures/vote_rates.py); an incident opened or changed costs one report of its
scope on top (bot/broadcast/report_message.py), for its top 👎 reasons and worst answers.

An incident is one message, posted when it opens, updated in place (`chat.update`) when its
figures change, and answered in its thread once when it is over; then the message says so
too. Its row in the store is written before its message is posted, and the message carries
the incident's key in its metadata: a post whose ts was not recorded (a crash between the two)
is found in the channel, not posted again. The post obeys the privacy rule
(bot/report/privacy.py): a private conversation's channel is not named, its questions not
quoted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.broadcast.alert_rules import Thresholds, Verdict, Votes, judge, limit
from bot.broadcast.channel_post import PostFailed, find_post, post, post_once, update
from bot.broadcast.report_message import ChannelReports, SharedReport
from bot.report.figures.vote_rates import REQUESTS as VOTE_REQUESTS
from bot.report.figures.vote_rates import VoteCounts, vote_counts
from bot.report.privacy import PRIVATE_CONVERSATIONS
from bot.report.render.blocks import channel_mention, escape
from bot.report.render.wording import reason_label
from bot.report.trace_records import tracking_failure
from bot.report.window import ReportWindow
from bot.storage.broadcasts import CLOSED, OPEN, Broadcasts, Incident
from bot.tracing.links import experiment_traces_url
from config.broadcast_values import duration_text

log = logging.getLogger(__name__)

TURN_KEY = "alert-check"
ALL = "rate:all"
OPS = "ops:backlog"
RATES = "rates"  # the check of the rates itself, for what is logged once
REQUESTS_PER_CHECK = 2 * VOTE_REQUESTS
WORST_SHOWN = 3
REASONS_SHOWN = 3
# Work waiting longer than this opens the operations alert; it clears once nothing has
# waited longer than OPS_CLEAR_S.
OPS_AFTER_S = 600.0
OPS_CLEAR_S = 60.0


@dataclass(frozen=True)
class AlertPolicy:
    channel: str
    every_s: float
    window_s: float
    baseline_s: float
    thresholds: Thresholds


@dataclass(frozen=True)
class Backlog:
    """What waits in the store, and for how long the oldest has."""

    oldest_age_s: float | None
    description: str


class Alerts:
    def __init__(
        self,
        broadcasts: Broadcasts,
        reports: ChannelReports,
        client: AsyncWebClient,
        policy: AlertPolicy,
        backlog: Callable[[], Awaitable[Backlog]],
        owner: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._broadcasts = broadcasts
        self._reports = reports
        self._client = client
        self.policy = policy
        self._backlog = backlog
        self._owner = owner
        self._clock = clock
        self._logged: set[str] = set()  # incidents whose failing post was logged once
        self.checks = 0

    async def run_due(self) -> bool:
        """Check now if it is this instance's turn; whether it checked."""
        now = self._clock()
        if not await self._broadcasts.claim_turn(TURN_KEY, self._owner, self.policy.every_s, now):
            return False
        try:
            await self.check()
        finally:
            await self._broadcasts.turn_done(TURN_KEY, self._owner, self._clock())
        return True

    async def check(self) -> None:
        self.checks += 1
        incidents = await self._broadcasts.open_incidents()
        try:
            await self._check_rates(incidents)
        except Exception as error:  # the tracking server is away: said once, not every check
            reason = tracking_failure(error) or f"{type(error).__name__}: {error}"
            if RATES not in self._logged:
                self._logged.add(RATES)
                log.warning("the alerts cannot check the positive rate: %s", reason)
        else:
            self._logged.discard(RATES)
        await self._check_backlog(incidents.get(OPS))

    # -- the positive rate -------------------------------------------------------------------

    def windows(self) -> tuple[ReportWindow, ReportWindow]:
        now = datetime.fromtimestamp(self._clock(), UTC)
        window_start = now - timedelta(seconds=self.policy.window_s)
        baseline_start = window_start - timedelta(seconds=self.policy.baseline_s)
        window = ReportWindow(window_start, now, _spec(window_start, now))
        baseline = ReportWindow(baseline_start, window_start, _spec(baseline_start, window_start))
        return window, baseline

    def _counts(
        self, window: ReportWindow, baseline: ReportWindow
    ) -> tuple[VoteCounts, VoteCounts]:
        source = self._reports.source()
        experiment_id = source.experiment_id()
        return vote_counts(source, experiment_id, window), vote_counts(
            source, experiment_id, baseline
        )

    async def _check_rates(self, incidents: dict[str, Incident]) -> None:
        window, baseline = self.windows()
        now_counts, base_counts = await asyncio.to_thread(self._counts, window, baseline)
        scopes: dict[str, tuple[Votes, Votes]] = {
            ALL: (Votes(now_counts.up, now_counts.down), Votes(base_counts.up, base_counts.down))
        }
        channels = set(now_counts.by_channel) | {
            s.removeprefix("rate:") for s in incidents if s.startswith("rate:") and s != ALL
        }
        for channel in sorted(channels):
            scopes[f"rate:{channel}"] = (
                Votes(*now_counts.by_channel.get(channel, (0, 0))),
                Votes(*base_counts.by_channel.get(channel, (0, 0))),
            )
        for scope, (now_votes, base_votes) in scopes.items():
            incident = incidents.get(scope)
            verdict = judge(
                now_votes, base_votes, self.policy.thresholds, is_open=incident is not None
            )
            figures = self._figures(now_votes, base_votes)
            try:
                if verdict is Verdict.LOW and incident is None:
                    await self._open(scope, figures, window)
                elif verdict is Verdict.LOW and incident is not None:
                    await self._keep(incident, figures, window)
                elif verdict is Verdict.FINE and incident is not None:
                    await self._close(incident, figures, window)
            except PostFailed as failed:
                self._log_once(scope, failed.reason)

    def _figures(self, now: Votes, base: Votes) -> dict[str, Any]:
        return {
            "up": now.up,
            "down": now.down,
            "rate": _round(now.rate),
            "baseline_up": base.up,
            "baseline_down": base.down,
            "baseline_rate": _round(base.rate),
            "limit": round(limit(base, self.policy.thresholds), 1),
        }

    async def _open(self, scope: str, figures: dict[str, Any], window: ReportWindow) -> None:
        now = self._clock()
        incident = Incident(
            scope=scope,
            incident_key=incident_key(scope, now),
            state=OPEN,
            channel=self.policy.channel,
            message_ts=None,
            figures=figures,
            opened_at=now,
            updated_at=now,
        )
        await self._broadcasts.save_incident(incident)  # before the post: it is found, not redone
        log.warning("alert %s: positive rate %s%%", incident.incident_key, figures["rate"])
        await self._show(incident, window, new=True)

    async def _keep(
        self, incident: Incident, figures: dict[str, Any], window: ReportWindow
    ) -> None:
        if incident.message_ts is not None and figures == incident.figures:
            return
        changed = replace(incident, figures=figures, updated_at=self._clock())
        await self._show(changed, window, new=False)

    async def _show(self, incident: Incident, window: ReportWindow, *, new: bool) -> None:
        """Post the incident's message (or find the one an earlier attempt posted), or update
        it in place; then record it."""
        details = await self._details(incident.scope, window)
        text, blocks = self._rate_message(incident, details, recovered=False)
        if incident.message_ts is None:
            ts = await post_once(
                self._client,
                incident.channel,
                incident.incident_key,
                text,
                blocks,
                maybe_posted_since=None if new else incident.opened_at,
            )
            incident = replace(incident, message_ts=ts)
        else:
            await update(
                self._client,
                incident.channel,
                incident.message_ts,
                incident.incident_key,
                text,
                blocks,
            )
        await self._broadcasts.save_incident(incident)
        self._logged.discard(incident.scope)

    async def _close(
        self, incident: Incident, figures: dict[str, Any], window: ReportWindow
    ) -> None:
        closing = replace(incident, figures=figures, updated_at=self._clock())
        if closing.message_ts is None:  # never shown: find it, or there is nothing to close
            ts = await find_post(
                self._client, closing.channel, closing.incident_key, since=closing.opened_at
            )
            if ts is None:
                await self._closed(closing)
                return
            closing = replace(closing, message_ts=ts)
        details = await self._details(incident.scope, window)
        text, blocks = self._rate_message(closing, details, recovered=True)
        await self._reply_once(closing, self._recovered_text(closing))
        assert closing.message_ts is not None
        await update(
            self._client, closing.channel, closing.message_ts, closing.incident_key, text, blocks
        )
        await self._closed(closing)

    async def _reply_once(self, incident: Incident, text: str) -> None:
        assert incident.message_ts is not None
        key = f"{incident.incident_key}:over"
        found = await find_post(
            self._client,
            incident.channel,
            key,
            since=incident.opened_at,
            thread_ts=incident.message_ts,
        )
        if found is None:
            await post(self._client, incident.channel, key, text, thread_ts=incident.message_ts)

    async def _closed(self, incident: Incident) -> None:
        now = self._clock()
        await self._broadcasts.save_incident(replace(incident, state=CLOSED, closed_at=now))
        self._logged.discard(incident.scope)
        log.info("alert %s is over", incident.incident_key)

    async def _details(self, scope: str, window: ReportWindow) -> SharedReport | None:
        if scope == OPS:
            return None
        channel = None if scope == ALL else scope.removeprefix("rate:")
        try:
            return await self._reports.build(window, self.policy.channel, channel)
        except Exception as error:  # the figures alone are still worth posting
            log.warning("the alert's details could not be built: %s", error)
            return None

    # -- rendering ---------------------------------------------------------------------------

    def _where(self, scope: str, details: SharedReport | None) -> str:
        if scope == ALL:
            return "all channels"
        channel = details.report.channel if details is not None else PRIVATE_CONVERSATIONS
        if channel == PRIVATE_CONVERSATIONS:
            return "a private conversation"
        return channel_mention(channel)

    def _rate_message(
        self, incident: Incident, details: SharedReport | None, *, recovered: bool
    ) -> tuple[str, list[Block]]:
        f = incident.figures
        where = self._where(incident.scope, details)
        policy = self.policy
        window, baseline = duration_text(policy.window_s), duration_text(policy.baseline_s)
        base_votes = f["baseline_up"] + f["baseline_down"]
        base = (
            f"{f['baseline_rate']}% in the {baseline} before ({base_votes} votes)"
            if f["baseline_rate"] is not None
            else "no baseline yet"
        )
        figures = (
            f"*Positive rate* {f['rate']}% over the last {window} "
            f"(👍 {f['up']} · 👎 {f['down']}) · {base} · alerts under {f['limit']}%"
        )
        if recovered:
            title = "Recovered: the positive rate is back"
            text = f"Recovered: the positive rate in {where} is back at {f['rate']}%."
        else:
            title = "Alert: the positive rate dropped"
            text = (
                f"Alert: the positive rate in {where} is {f['rate']}% (alerts under {f['limit']}%)."
            )
        blocks: list[Block] = [
            HeaderBlock(text=title),
            SectionBlock(text=_md(f"*Where* {where}\n{figures}")),
        ]
        if details is not None:
            blocks += self._detail_blocks(details)
        opened = datetime.fromtimestamp(incident.opened_at, UTC)
        updated = datetime.fromtimestamp(incident.updated_at, UTC)
        every = duration_text(policy.every_s)
        blocks.append(
            ContextBlock(
                elements=[
                    _md(
                        f"Since {opened:%Y-%m-%d %H:%M} UTC · updated {updated:%H:%M} UTC"
                        f" · checked every {every}"
                    )
                ]
            )
        )
        return text, blocks

    def _detail_blocks(self, details: SharedReport) -> list[Block]:
        reasons = details.reasons.counts[:REASONS_SHOWN]
        reasons_text = (
            " · ".join(f"{reason_label(key)} {count}" for key, count in reasons)
            if reasons
            else "none given"
        )
        lines = [f"*Top 👎 reasons* {reasons_text}", "*Worst answers*"]
        worst = details.report.lowest[:WORST_SHOWN]
        if not worst:
            lines.append("None scored below 3.")
        for n, answer in enumerate(worst, 1):
            where = channel_mention(answer.channel) if answer.channel else "a private conversation"
            question = escape(answer.question) or "(no question text)"
            lines.append(
                f"{n}. score {answer.score:.2f} · {where} · <{answer.trace_url}|trace>\n>{question}"
            )
        experiment = details.report.experiment_id
        if experiment is not None and worst:
            base = worst[0].trace_url.split("/#/", 1)[0]
            lines.append(f"<{experiment_traces_url(base, experiment)}|The traces in MLflow>")
        return [SectionBlock(text=_md(_clip("\n".join(lines))))]

    def _recovered_text(self, incident: Incident) -> str:
        f = incident.figures
        return (
            f"Recovered: the positive rate is back at {f['rate']}% "
            f"(👍 {f['up']} · 👎 {f['down']} over the last {duration_text(self.policy.window_s)})."
        )

    # -- work waiting in the store -----------------------------------------------------------

    async def _check_backlog(self, incident: Incident | None) -> None:
        try:
            backlog = await self._backlog()
        except Exception as error:
            log.warning("the alerts could not read the store's backlog: %s", error)
            return
        age = backlog.oldest_age_s
        try:
            if incident is None and age is not None and age > OPS_AFTER_S:
                await self._open_ops(backlog)
            elif incident is not None and (age is None or age < OPS_CLEAR_S):
                await self._close_ops(incident)
            elif incident is not None and incident.message_ts is None:
                await self._post_ops(incident, backlog, new=False)
        except PostFailed as failed:
            self._log_once(OPS, failed.reason)

    async def _open_ops(self, backlog: Backlog) -> None:
        now = self._clock()
        incident = Incident(
            scope=OPS,
            incident_key=f"{OPS}@{now:.0f}",
            state=OPEN,
            channel=self.policy.channel,
            message_ts=None,
            figures={"oldest_age_s": backlog.oldest_age_s, "waiting": backlog.description},
            opened_at=now,
            updated_at=now,
        )
        await self._broadcasts.save_incident(incident)
        log.warning("alert %s: %s", incident.incident_key, backlog.description)
        await self._post_ops(incident, backlog, new=True)

    async def _post_ops(self, incident: Incident, backlog: Backlog, *, new: bool) -> None:
        minutes = (backlog.oldest_age_s or 0.0) / 60
        text = (
            f"Alert: work has waited in the bot's store for {minutes:.0f} minutes "
            f"({backlog.description}): the tracking server or Slack may be unreachable."
        )
        ts = await post_once(
            self._client,
            incident.channel,
            incident.incident_key,
            text,
            [HeaderBlock(text="Alert: work is waiting"), SectionBlock(text=_md(escape(text)))],
            maybe_posted_since=None if new else incident.opened_at,
        )
        await self._broadcasts.save_incident(replace(incident, message_ts=ts))
        self._logged.discard(OPS)

    async def _close_ops(self, incident: Incident) -> None:
        if incident.message_ts is None:
            ts = await find_post(
                self._client, incident.channel, incident.incident_key, since=incident.opened_at
            )
            if ts is None:
                await self._closed(incident)
                return
            incident = replace(incident, message_ts=ts)
        text = "Cleared: nothing waits in the bot's store any more."
        await self._reply_once(incident, text)
        assert incident.message_ts is not None
        await update(
            self._client,
            incident.channel,
            incident.message_ts,
            incident.incident_key,
            f"Cleared: work waited in the bot's store ({incident.figures.get('waiting')}).",
            [
                HeaderBlock(text="Cleared: work was waiting"),
                SectionBlock(text=_md(escape(f"Work waited: {incident.figures.get('waiting')}."))),
            ],
        )
        await self._closed(incident)

    def _log_once(self, scope: str, reason: str) -> None:
        if scope in self._logged:
            log.debug("alert %s still not posted: %s", scope, reason)
            return
        self._logged.add(scope)
        log.error("alert %s could not be posted in %s: %s", scope, self.policy.channel, reason)


def incident_key(scope: str, opened_at: float) -> str:
    """What names an incident in its message's metadata: its scope and opening time, a
    channel's ID hashed (the metadata of a post must not name a private channel either)."""
    if scope.startswith("rate:") and scope != ALL:
        digest = hashlib.sha256(scope.encode()).hexdigest()[:12]
        scope = f"rate:channel-{digest}"
    return f"{scope}@{opened_at:.0f}"


def _round(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 1)


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _clip(text: str, limit_chars: int = 3000) -> str:
    return text if len(text) <= limit_chars else text[: limit_chars - 1] + "…"


def _spec(start: datetime, end: datetime) -> str:
    return f"{start.date()}..{end.date()}"
