"""No log line carries a secret: the known secret values are redacted from every log record.

Installed at start-up as a log-record factory, so it covers every logger — also those that do
not propagate to the root handlers (mlflow's) and those of libraries that may log request
headers or bodies at DEBUG (aiohttp, urllib3, slack_sdk, slack_bolt).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8  # shorter values would redact ordinary words; they are not secrets anyway


def secrets_of(settings: BaseSettings) -> list[str]:
    """The values of every secret setting."""
    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [value.get_secret_value() for value in values if isinstance(value, SecretStr)]


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def install_secret_redaction(secrets: Iterable[str]) -> None:
    """Redact `secrets` from the message, arguments and traceback of every log record."""
    values = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
    if not values:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when the record is emitted
            return record
        if any(secret in message for secret in values):
            record.msg, record.args = redact(message, values), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), values)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, values)
        return record

    logging.setLogRecordFactory(redacting_factory)
