"""An open-loop load generator: signed Slack requests at a fixed rate, latency per request.

Open loop: request i is due at start + i / rate whatever happened to the others, and its
latency counts from when it was due (no coordinated omission). Run as its own process:
    python -m bench.load URL SECRET KIND RATE SECONDS TEMPLATE.json
prints one JSON object: achieved throughput, latencies (ms), status counts.

Each request is unique: a question gets event ID `EvLOAD<i>` in channel `DLOAD<i>`, a click
or a submission comes from user `ULOAD<i>`, so what a run leaves in the store and on the
tracking server can be counted exactly. TEMPLATE.json holds one payload, or a list of them:
request i is built from payload i mod their number (votes spread over several answers).
"""

from __future__ import annotations

import asyncio
import copy
import json
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier


def body_for(kind: str, template: dict[str, Any], i: int) -> tuple[bytes, str]:
    payload = copy.deepcopy(template)
    if kind == "event_callback":
        payload["event_id"] = f"EvLOAD{i:09d}"
        event = payload["event"]
        event["channel"] = f"DLOAD{i:07d}"
        event["ts"] = event["event_ts"] = f"{time.time():.6f}"
        event["text"] = f"load question {i}"
        return json.dumps(payload).encode(), "application/json"
    payload["user"]["id"] = f"ULOAD{i:07d}"
    if kind == "block_actions":
        payload["trigger_id"] = f"trigger.{i}"
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def templates_of(loaded: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """TEMPLATE.json's payloads: one, or a list."""
    return loaded if isinstance(loaded, list) else [loaded]


async def run(
    url: str,
    secret: str,
    kind: str,
    rate: float,
    seconds: float,
    template: dict[str, Any] | list[dict[str, Any]],
) -> dict:
    payloads = templates_of(template)
    verifier = SignatureVerifier(secret)
    count = int(rate * seconds)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: dict[str, str] = {}  # the first message of each kind of failure
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=10)
    ) as http:

        async def one(i: int, due: float) -> None:
            body, content_type = body_for(kind, payloads[i % len(payloads)], i)
            ts = str(int(time.time()))
            headers = {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
            }
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as error:
                statuses[type(error).__name__] += 1
                errors.setdefault(type(error).__name__, str(error)[:200])
                return
            latencies.append((time.perf_counter() - due) * 1000)

        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(count):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "kind": kind,
        "offered_rps": rate,
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "requests": count,
        "statuses": dict(statuses),
        "errors": errors,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else None,
    }


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


if __name__ == "__main__":
    url, secret, kind, rate, seconds, template_path = sys.argv[1:7]
    with open(template_path) as file:
        template = json.load(file)
    result = asyncio.run(run(url, secret, kind, float(rate), float(seconds), template))
    print(json.dumps(result))
