"""Adding answers to the evaluation dataset on the tracking server (blocking: run it in a
worker thread from async code).

The dataset is found by name among the experiment's (created, linked to the experiment, on
first use); answers are read whole (`batch_get_traces`: info, assessments and spans) a chunk
at a time and upserted a chunk at a time, so a bulk add costs a few requests per hundred
answers, not several per answer.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mlflow.entities import Trace
from mlflow.exceptions import MlflowException
from mlflow.tracing.client import TracingClient

from bot.dataset.records import Feedback, NotAnAnswer, dataset_record, feedback_of
from bot.tracing.data_model import TAG_CHANNEL
from bot.tracing.rest import MlflowRest, RequestBounds
from bot.tracing.rest_errors import EndpointNotFound, MlflowRestError

log = logging.getLogger(__name__)

CHUNK = 100  # answers read and upserted per request
SEARCH_PAGE = 500  # the server's largest trace search page
CHANNEL_ID = re.compile(r"^[CDGZ][A-Z0-9]{2,}$")
# The server's answer to dataset calls when it cannot keep datasets (no SQL backend, …).
REFUSALS = ("FEATURE_DISABLED", "NOT_IMPLEMENTED", "INVALID_PARAMETER_VALUE", "BAD_REQUEST")
REFUSED_STATUSES = (401, 403, 404, 405, 501)


class DatasetRefused(Exception):
    """The tracking server refuses evaluation datasets (a server without a SQL backend, an
    MLflow without the dataset API, no permission); retrying will not help. The message says
    so for an admin."""


@dataclass
class AddResult:
    added: int = 0
    updated: int = 0
    skipped: int = 0  # no question and answer on the trace (e.g. the model failed)
    missing: list[str] = field(default_factory=list)  # not on the server (yet)

    def __iadd__(self, other: AddResult) -> AddResult:
        self.added += other.added
        self.updated += other.updated
        self.skipped += other.skipped
        self.missing += other.missing
        return self

    @property
    def summary(self) -> str:
        text = f"added {self.added}, updated {self.updated}, skipped {self.skipped}"
        return text + (f", not found {len(self.missing)}" if self.missing else "")


@dataclass(frozen=True)
class Selection:
    """Which answers a bulk add takes: traces started at or after `since_ms`, in `channel` if
    given, with people's feedback; only negative ones (a 👎, a rating ≤ 2, a reason) or only
    corrected ones if asked."""

    since_ms: int
    channel: str | None = None
    negative_only: bool = False
    corrected_only: bool = False

    def __post_init__(self) -> None:
        if self.channel is not None and not CHANNEL_ID.match(self.channel):
            raise ValueError(f"{self.channel!r} is not a Slack channel ID")

    @property
    def filter_string(self) -> str:
        parts = [f"trace.timestamp_ms >= {self.since_ms}"]
        if self.channel is not None:
            parts.append(f"tags.`{TAG_CHANNEL}` = '{self.channel}'")
        return " AND ".join(parts)

    def takes(self, said: Feedback) -> bool:
        if self.corrected_only and not said.corrected:
            return False
        if self.negative_only and not said.negative:
            return False
        return bool(said.up or said.down or said.low_ratings or said.corrected or said.reasons)


class DatasetWriter:
    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str,
        dataset_name: str,
        *,
        timeout_s: int = 5,
        retries: int = 1,
    ) -> None:
        # The one MLflow REST adapter: mlflow's credentials, TLS settings and proxies, bounded.
        self.rest = MlflowRest(tracking_uri, RequestBounds(timeout_s, retries))
        self.dataset_name = dataset_name
        self._experiment_name = experiment_name
        self._tracing = TracingClient(tracking_uri)
        self._dataset_id: str | None = None
        self._lock = threading.Lock()

    # -- the dataset ------------------------------------------------------------------------

    def dataset_id(self, *, create: bool = True) -> str | None:
        """The dataset's ID, created and linked to the experiment on first use (None if it
        does not exist and `create` is False); `DatasetRefused` if the server keeps none."""
        with self._lock:
            if self._dataset_id is None:
                self._dataset_id = _refusals_explained(lambda: self._find_or_create(create))
            return self._dataset_id

    def probe(self) -> str | None:
        """Whether the server keeps datasets (`DatasetRefused` if not) and this one's ID if it
        exists already (None: it is created on first use). Creates nothing."""
        quoted = self.dataset_name.replace("'", "\\'")
        found, _ = _refusals_explained(
            partial(self.rest.search_datasets, None, f"name = '{quoted}'")
        )
        named = [d for d in found if d.get("name") == self.dataset_name]
        return str(named[0]["dataset_id"]) if named else None

    def _find_or_create(self, create: bool) -> str | None:
        experiment_id = self.rest.experiment_id(self._experiment_name)
        if experiment_id is None:
            if not create:
                return None
            experiment_id = self._tracing.store.create_experiment(self._experiment_name)
        found = self._find(experiment_id)
        if found is not None or not create:
            return found
        try:
            created = self.rest.create_dataset(
                self.dataset_name, [experiment_id], {"created_by": "slack-bot"}
            )
        except MlflowRestError:
            found = self._find(experiment_id)  # another instance created it meanwhile
            if found is None:
                raise
            return found
        log.info("created the evaluation dataset %r", self.dataset_name)
        return str(created["dataset_id"])

    def _find(self, experiment_id: str) -> str | None:
        quoted = self.dataset_name.replace("'", "\\'")
        datasets, _ = self.rest.search_datasets([experiment_id], f"name = '{quoted}'")
        named = [d for d in datasets if d.get("name") == self.dataset_name]
        named.sort(key=lambda d: int(d.get("created_time") or 0))
        return str(named[0]["dataset_id"]) if named else None

    # -- adding -----------------------------------------------------------------------------

    def add(self, trace_ids: Sequence[str], added_by: str) -> AddResult:
        """Add (or update) the answers' records; traces not on the server are `missing`."""
        dataset_id = self.dataset_id()
        assert dataset_id is not None
        result = AddResult()
        for chunk in _chunks(list(dict.fromkeys(trace_ids)), CHUNK):
            traces = _refusals_explained(partial(self._tracing.batch_get_traces, chunk))
            found = {trace.info.trace_id for trace in traces}
            result.missing += [trace_id for trace_id in chunk if trace_id not in found]
            result += self._upsert(dataset_id, traces, added_by)
        return result

    def _upsert(self, dataset_id: str, traces: Iterable[Trace], added_by: str) -> AddResult:
        result = AddResult()
        records: list[dict[str, Any]] = []
        for trace in traces:
            try:
                records.append(dataset_record(trace, added_by))
            except NotAnAnswer as error:
                log.info("not added to the dataset: %s", error)
                result.skipped += 1
        if records:
            inserted, updated = _refusals_explained(
                lambda: self.rest.upsert_dataset_records(dataset_id, records)
            )
            result.added, result.updated = inserted, updated
        return result

    # -- selecting --------------------------------------------------------------------------

    def select(self, selection: Selection) -> Iterator[list[str]]:
        """The trace IDs of the answers `selection` takes, a search page at a time."""
        experiment_id = self.rest.experiment_id(self._experiment_name)
        if experiment_id is None:
            return
        token: str | None = None
        while True:
            page = self._tracing.search_traces(
                locations=[experiment_id],
                filter_string=selection.filter_string,
                max_results=SEARCH_PAGE,
                include_spans=False,
                page_token=token,
            )
            yield [t.info.trace_id for t in page if selection.takes(feedback_of(t.info))]
            token = page.token
            if not token:
                return

    # -- reading ----------------------------------------------------------------------------

    def records(self, limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
        """The number of records and the newest `limit` of them (all if None), newest first."""
        dataset_id = self.dataset_id(create=False)
        if dataset_id is None:
            return 0, []
        records: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page, token = _refusals_explained(
                partial(self.rest.dataset_records, dataset_id, page_token=token)
            )
            records += page
            if not token:
                break
        records.sort(key=lambda r: int(r.get("last_update_time") or 0), reverse=True)
        return len(records), records if limit is None else records[:limit]


def _refusals_explained(call: Callable[[], Any]) -> Any:
    """`call()`, its refusals as `DatasetRefused` (errors worth a retry pass through)."""
    try:
        return call()
    except MlflowRestError as error:
        if (
            isinstance(error, EndpointNotFound)
            or error.error_code in REFUSALS
            or error.status in REFUSED_STATUSES
        ):
            raise _refused(error.error_code, error) from error
        raise
    except MlflowException as error:  # mlflow's client (reading the traces)
        if error.error_code in REFUSALS:
            raise _refused(error.error_code, error) from error
        raise


def _refused(code: str | None, error: Exception) -> DatasetRefused:
    return DatasetRefused(
        f"the tracking server refused the evaluation dataset ({code}: {str(error)[:300]}). "
        "Evaluation datasets need an MLflow 3 tracking server with a SQL backend (e.g. "
        "`--backend-store-uri sqlite:///mlflow.db` or PostgreSQL), and permission to write "
        "to it."
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
