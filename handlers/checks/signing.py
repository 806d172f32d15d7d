"""Values the bot hands Slack and gets back in a later interaction (a modal's
private_metadata, a button's value), signed so a payload cannot redirect them."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


class TamperedMetadata(ValueError):
    pass


class Signer:
    """HMAC-SHA256 over compact JSON, with a key of its own per `purpose`."""

    def __init__(self, secret: str, purpose: bytes) -> None:
        self._key = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()

    def dump(self, body: dict[str, Any]) -> str:
        return json.dumps({"p": body, "s": self._sign(_canonical(body))}, separators=(",", ":"))

    def load(self, text: object) -> dict[str, Any]:
        """The body `dump` signed; `TamperedMetadata` for anything else."""
        try:
            wrapper = json.loads(str(text))
            body, signature = wrapper["p"], wrapper["s"]
            if not isinstance(body, dict) or not isinstance(signature, str):
                raise TamperedMetadata("not a signed value")
            if not hmac.compare_digest(signature, self._sign(_canonical(body))):
                raise TamperedMetadata("bad signature")
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise TamperedMetadata(str(error)) from None
        return body

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()


def _canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=True)
