"""The report's "Add to dataset" button: its action and its signed value.

The value carries the answer's trace ID and the report it was shown in, signed with the
bot's signing secret (a key of its own), so a click can add only an answer a report showed;
whether the clicker may add it is checked again at the click (an admin of the report).
"""

from __future__ import annotations

from bot.feedback.intent import is_trace_id
from bot.report.render.blocks import DATASET_ADD_ACTION
from handlers.checks.signing import Signer, TamperedMetadata

ADD_ACTION_ID = DATASET_ADD_ACTION


class DatasetButtonSigner:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, b"dataset-add-v1")

    def dump(self, trace_id: str, report_id: str) -> str:
        return self._signer.dump({"t": trace_id, "r": report_id})

    def load(self, value: object) -> tuple[str, str]:
        """(trace ID, report ID); `TamperedMetadata` if forged."""
        body = self._signer.load(value)
        trace_id, report_id = body.get("t"), body.get("r")
        if not is_trace_id(trace_id) or not isinstance(report_id, str):
            raise TamperedMetadata("not an answer of a report")
        return str(trace_id), report_id
