"""`python -m bot check`: is every part the bot needs configured and answering?

One PASS/FAIL line per part (configuration, Slack, Socket Mode, tracking server, evaluation
dataset, LLM, and the digest's and the alerts' channels when they are set: whether the bot can
post there);
the exit code is 1 when any line fails. Secrets are never printed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.llm.choice import ENDPOINT, choose_llm
from bot.llm.client import LLMError, OpenAICompatibleClient
from bot.tracing.rest import AsyncMlflowRest, MlflowRest, RequestBounds
from bot.tracing.rest_errors import MlflowRestError, ServerUnreachable
from config import ConfigError, Settings, load_settings

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Result:
    part: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.part:<9} {self.detail}"


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {TIMEOUT_S:g} s"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def check_slack(settings: Settings) -> Result:
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_base,
        timeout=int(TIMEOUT_S),
        retry_handlers=[],
    )
    try:
        auth = await client.auth_test()
    except SlackApiError as error:
        return Result("slack", False, f"auth.test refused: {error.response.get('error')}")
    except Exception as error:
        return Result("slack", False, f"cannot reach {settings.slack_api_base}: {_reason(error)}")
    return Result(
        "slack",
        True,
        f"auth.test ok: bot user {auth.get('user_id')} in team {auth.get('team')} "
        f"({auth.get('team_id')})",
    )


async def check_socket_mode(settings: Settings) -> Result:
    assert settings.slack_app_token is not None
    client = AsyncWebClient(
        base_url=settings.slack_api_base, timeout=int(TIMEOUT_S), retry_handlers=[]
    )
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
    except SlackApiError as error:
        return Result("socket", False, f"app-level token refused: {error.response.get('error')}")
    except Exception as error:
        return Result("socket", False, f"cannot reach Slack: {_reason(error)}")
    return Result("socket", True, "app-level token accepted: Socket Mode can connect")


async def check_channel(settings: Settings, part: str, variable: str, channel: str) -> Result:
    """Whether the bot can post in `channel` (asked of `conversations.info`: nothing is
    posted): it exists, is not archived, and the bot is in it."""
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_base,
        timeout=int(TIMEOUT_S),
        retry_handlers=[],
    )
    try:
        found = (await client.conversations_info(channel=channel)).get("channel") or {}
    except SlackApiError as error:
        reason = error.response.get("error")
        if reason == "channel_not_found":
            return Result(
                part,
                False,
                f"{variable} {channel}: channel_not_found (a wrong ID, or a private channel "
                "the bot is not in: invite it with /invite @<the bot> there)",
            )
        return Result(part, False, f"{variable} {channel}: conversations.info refused: {reason}")
    except Exception as error:
        return Result(part, False, f"cannot reach Slack: {_reason(error)}")
    name = f"#{found['name']}" if found.get("name") else channel
    if found.get("is_archived"):
        return Result(part, False, f"{variable} {channel} ({name}) is archived: nothing posts")
    if found.get("is_member") is False:
        return Result(
            part,
            False,
            f"{variable} {channel} ({name}): not_in_channel: invite the bot with "
            f"/invite @<the bot> in {name}",
        )
    return Result(part, True, f"can post in {name} ({channel}, {variable})")


async def check_tracking(settings: Settings) -> Result:
    """The experiment looked up as the bot will (its credentials and TLS settings)."""
    uri, name = settings.mlflow_tracking_uri, settings.mlflow_experiment_name
    rest = AsyncMlflowRest(MlflowRest(uri, RequestBounds(int(TIMEOUT_S), retries=0)), threads=1)
    try:
        experiment_id = await rest.experiment_id(name)
    except ServerUnreachable as error:
        return Result("tracking", False, f"{uri} unreachable: {_reason(error)}")
    except MlflowRestError as error:
        return Result("tracking", False, f"{uri} refused the experiment look-up: {error}")
    finally:
        rest.close()
    if experiment_id is None:
        return Result("tracking", True, f"{uri} is up; experiment {name!r} is created at start")
    return Result("tracking", True, f"{uri} is up; experiment {name!r} ({experiment_id})")


async def check_dataset(settings: Settings) -> Result:
    """Does the tracking server keep evaluation datasets (a SQL backend)? Creates nothing."""
    from bot.dataset.writer import DatasetRefused, DatasetWriter

    name = settings.feedback_dataset
    writer = DatasetWriter(
        settings.mlflow_tracking_uri,
        settings.mlflow_experiment_name,
        name,
        timeout_s=settings.mlflow_request_timeout_s,
        retries=0,
    )
    try:
        dataset_id = await asyncio.wait_for(asyncio.to_thread(writer.probe), TIMEOUT_S)
    except DatasetRefused as error:
        return Result("dataset", False, str(error))
    except Exception as error:
        return Result("dataset", False, f"the dataset look-up failed: {_reason(error)}")
    if dataset_id is None:
        return Result("dataset", True, f"{name!r} is created when the first answer is added")
    return Result("dataset", True, f"{name!r} ({dataset_id})")


async def check_llm(settings: Settings, http: aiohttp.ClientSession) -> Result:
    choice = await choose_llm(settings)
    if choice.kind != ENDPOINT or choice.base_url is None:
        return Result("llm", True, choice.describe())
    base, key, model = choice.base_url.rstrip("/"), choice.api_key, choice.model
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        async with http.get(f"{base}/models", headers=headers) as response:
            status = response.status
            body = await response.json(content_type=None) if status == 200 else None
    except Exception as error:
        return Result("llm", False, f"{base} unreachable: {_reason(error)}")
    if status in (401, 403):
        return Result("llm", False, f"{base} refused the API key (HTTP {status})")
    listed = {m.get("id") for m in (body or {}).get("data") or [] if isinstance(m, dict)}
    if model in listed:
        return Result("llm", True, f"{base} offers model {model}")
    # Not listed (or no /models): ask for one token.
    client = OpenAICompatibleClient(
        base, model, key, timeout_s=TIMEOUT_S, max_attempts=1, session=http
    )
    try:
        await client.complete([{"role": "user", "content": "Say OK."}])
    except LLMError as error:
        return Result("llm", False, f"{base}, model {model}: {error}")
    return Result("llm", True, f"{base} answered with model {model}")


async def run_checks(settings: Settings) -> list[Result]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        checks = [check_slack(settings)]
        if settings.slack_app_token is not None:
            checks.append(check_socket_mode(settings))
        checks += [
            check_tracking(settings),
            check_dataset(settings),
            check_llm(settings, http),
        ]
        if settings.feedback_digest_channel:
            channel = settings.feedback_digest_channel
            checks.append(check_channel(settings, "digest", "FEEDBACK_DIGEST_CHANNEL", channel))
        if settings.feedback_alert_channel:
            channel = settings.feedback_alert_channel
            checks.append(check_channel(settings, "alerts", "FEEDBACK_ALERT_CHANNEL", channel))
        return list(await asyncio.gather(*checks))


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        for line in str(error).splitlines():
            print(Result("config", False, line).line())
        print("(the other checks need a valid configuration)")
        return 1
    mode = "Socket Mode" if settings.socket_mode else f"HTTP on port {settings.port}"
    print(Result("config", True, f"settings are valid ({mode})").line(), flush=True)
    results = asyncio.run(run_checks(settings))
    for result in results:
        print(result.line())
    return 0 if all(result.ok for result in results) else 1
