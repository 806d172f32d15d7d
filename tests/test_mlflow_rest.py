"""The MLflow adapter (bot/tracing/rest.py): one error family for every answer, calls bounded
by the settings, MLflow's credentials and TLS settings, the async facade (against a scripted
server), and the evaluation dataset calls (against a real MLflow server)."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from urllib3.exceptions import InsecureRequestWarning

from bot.tracing.rest import (
    EXPERIMENT_BY_NAME,
    SEARCH_TRACES,
    AsyncMlflowRest,
    MlflowRest,
    RequestBounds,
)
from bot.tracing.rest_errors import (
    EndpointNotFound,
    InvalidParameter,
    MlflowRestError,
    ResourceNotFound,
    ServerUnreachable,
    UnexpectedAnswer,
)
from config import TrackingSettings
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from tests.support.mlflow_rest import rest_at
from tests.support.scripted_http import Scripted, scripted_server

NOT_FOUND, INVALID = "RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"
EXPERIMENT = (200, b'{"experiment": {"experiment_id": "7", "name": "x"}}')


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    with scripted_server() as script:
        yield script


def mlflow_error(code: str) -> bytes:
    return b'{"error_code": "%s", "message": "no"}' % code.encode()


@pytest.mark.parametrize(
    ("answer", "kind", "error_code"),
    [
        ((404, mlflow_error("ENDPOINT_NOT_FOUND")), EndpointNotFound, "ENDPOINT_NOT_FOUND"),
        ((404, b"<html>not found</html>"), EndpointNotFound, None),
        ((405, b"<html>method not allowed</html>"), EndpointNotFound, None),
        (
            (404, mlflow_error("RESOURCE_DOES_NOT_EXIST")),
            ResourceNotFound,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            (400, mlflow_error("INVALID_PARAMETER_VALUE")),
            InvalidParameter,
            "INVALID_PARAMETER_VALUE",
        ),
        ((400, mlflow_error("BAD_REQUEST")), InvalidParameter, "BAD_REQUEST"),
        ((403, mlflow_error("PERMISSION_DENIED")), MlflowRestError, "PERMISSION_DENIED"),
        ((401, b"<html>log in</html>"), MlflowRestError, None),
        ((409, mlflow_error("ABORTED")), MlflowRestError, "ABORTED"),
        ((503, b"busy"), MlflowRestError, None),
        ((200, b"<html>a proxy's page</html>"), UnexpectedAnswer, None),
        ((200, b"[1, 2]"), UnexpectedAnswer, None),
        ((200, b'{"traces": {"trace_id": "tr-1"}}'), UnexpectedAnswer, None),
    ],
)
def test_every_answer_but_the_expected_one_is_an_error_of_the_family(
    scripted: Scripted, answer: tuple[int, bytes], kind: type, error_code: str | None
) -> None:
    scripted.answers = [answer]
    with pytest.raises(MlflowRestError) as raised:
        rest_at(scripted.url).search_traces_page("7", "")
    assert type(raised.value) is kind
    assert raised.value.error_code == error_code
    assert raised.value.status == (None if kind is UnexpectedAnswer else answer[0])
    if error_code is not None:
        assert str(raised.value) == f"{error_code}: no"  # the server's words
    assert scripted.requests[0].path == SEARCH_TRACES


def test_a_missing_experiment_is_none_and_a_get_sends_its_values_in_the_query(
    scripted: Scripted,
) -> None:
    scripted.answers = [EXPERIMENT, (404, mlflow_error(NOT_FOUND))]
    rest = rest_at(scripted.url)
    assert rest.experiment_id("my bot") == "7"
    assert rest.experiment_id("gone") is None
    first = scripted.requests[0]
    assert (first.method, first.path) == ("GET", f"{EXPERIMENT_BY_NAME}?experiment_name=my+bot")


def test_a_server_that_never_answers_is_unreachable_after_the_settings_attempts() -> None:
    """Each attempt waits `timeout_s`, then it is retried `retries` times: bounded, where
    mlflow's defaults would wait minutes."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])  # and never answered
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    rest = MlflowRest(url, RequestBounds(timeout_s=1, retries=1, backoff_s=0, jitter_s=0))
    try:
        with pytest.raises(ServerUnreachable) as raised:
            rest.experiment_id("x")
    finally:
        listener.close()
        for connection in accepted:
            connection.close()
    assert len(accepted) == 2
    assert raised.value.status is None
    assert "timed out; 2 attempts" in str(raised.value) and url in str(raised.value)


def test_the_bounds_are_the_settings() -> None:
    settings = TrackingSettings(
        mlflow_tracking_uri="http://h:1/", mlflow_request_timeout_s=7, mlflow_request_retries=3
    )
    rest = MlflowRest.from_settings(settings)
    assert rest.tracking_uri == "http://h:1"
    assert (rest.bounds.timeout_s, rest.bounds.retries) == (7, 3)


def test_credentials_are_read_from_mlflows_settings_at_each_call(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted.answers = [EXPERIMENT, EXPERIMENT, EXPERIMENT]
    rest = rest_at(scripted.url)
    rest.experiment_id("x")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    rest.experiment_id("x")
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ada")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")
    rest.experiment_id("x")
    sent = [request.headers.get("Authorization") for request in scripted.requests]
    assert sent == [None, "Bearer secret-token", "Basic YWRhOnB3"]
    assert all("mlflow" in request.headers["User-Agent"] for request in scripted.requests)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no CA signed, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_follows_mlflows_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with scripted_server(context) as script, warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRequestWarning)  # the insecure one is asked for
        script.answers = [EXPERIMENT, EXPERIMENT]
        rest = rest_at(script.url)
        with pytest.raises(ServerUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
            rest.experiment_id("x")
        monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert))
        assert rest.experiment_id("x") == "7"
        monkeypatch.delenv("MLFLOW_TRACKING_SERVER_CERT_PATH")
        monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
        assert rest.experiment_id("x") == "7"
    assert script.answers == []


async def test_the_async_adapter_waits_off_the_event_loop(scripted: Scripted) -> None:
    """The server holds its answer until a coroutine on this loop lets it go: were the call
    made on the loop, that coroutine could not run until the server gave up waiting."""
    scripted.answers = [EXPERIMENT]
    scripted.go.clear()
    rest = AsyncMlflowRest(rest_at(scripted.url), threads=1)

    async def let_go() -> None:
        scripted.go.set()

    try:
        found, _ = await asyncio.gather(rest.experiment_id("x"), let_go())
    finally:
        rest.close()
    assert found == "7"
    assert scripted.released == [True]


def test_evaluation_datasets(mlflow_server: MlflowServer) -> None:
    """The calls the evaluation dataset is built on, against a real (SQL-backed) server."""
    rest = rest_at(mlflow_server.url)
    name = f"rest-{new_id('X').lower()}"
    experiment_id = rest.call("POST", "/api/2.0/mlflow/experiments/create", {"name": name})[
        "experiment_id"
    ]
    assert rest.experiment_id(name) == experiment_id

    dataset = rest.create_dataset(f"{name}-corrections", [experiment_id], {"from": "slack"})
    dataset_id = dataset["dataset_id"]
    assert rest.get_dataset(dataset_id)["name"] == f"{name}-corrections"
    found, token = rest.search_datasets([experiment_id], f"name = '{name}-corrections'")
    assert [d["dataset_id"] for d in found] == [dataset_id] and token is None

    records = [
        {"inputs": {"question": q}, "expectations": {"expected_response": f"answer {q}"}}
        for q in ("q1", "q2", "q3")
    ]
    assert rest.upsert_dataset_records(dataset_id, records) == (3, 0)
    corrected = [{**records[0], "expectations": {"expected_response": "better"}}]
    assert rest.upsert_dataset_records(dataset_id, corrected) == (0, 1)  # same inputs

    pages, token = [], None
    while True:
        page, token = rest.dataset_records(dataset_id, max_results=2, page_token=token)
        pages.append(page)
        if token is None:
            break
    assert [len(page) for page in pages] == [2, 1]
    stored = {
        r["inputs"]["question"]: r["expectations"]["expected_response"] for p in pages for r in p
    }
    assert stored == {"q1": "better", "q2": "answer q2", "q3": "answer q3"}

    with pytest.raises(ResourceNotFound):
        rest.get_dataset("d-0000000000000000")
