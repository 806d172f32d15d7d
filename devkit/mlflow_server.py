"""A real MLflow tracking server (full mlflow, its own environment) on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from devkit.ports import free_port

# The environment of a local tracking server: no job runner (it would start worker
# processes the server does not need), no telemetry.
MLFLOW_SERVER_ENV = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    # No model-price catalog from the internet: on each span ingestion with token usage the
    # server would try to fetch one (3 tries, 5 s each), and no test reaches the internet.
    "MLFLOW_MODEL_CATALOG_URI": "",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}


def mlflow_server_command(
    mlflow_bin: Path, data_dir: Path, port: int, *, file_store: bool = False
) -> list[str]:
    """A tracking server on loopback storing runs and traces in sqlite under `data_dir` (in
    plain files with `file_store`: a server without a SQL backend, which keeps no evaluation
    datasets)."""
    backend = str(data_dir / "mlruns") if file_store else f"sqlite:///{data_dir / 'mlflow.db'}"
    return [
        str(mlflow_bin),
        "server",
        "--backend-store-uri",
        backend,
        "--default-artifact-root",
        str(data_dir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


ROOT = Path(__file__).resolve().parents[1]
MLFLOW_BIN = Path(os.environ.get("MLFLOW_SERVER_BIN", ROOT / ".venv-mlflow" / "bin" / "mlflow"))


def lower_session_priority(pid: int, niceness: int) -> None:
    """`niceness` for the session `pid` leads, against other sessions. With the kernel's
    autogroups (`kernel.sched_autogroup_enabled`) a session's processes share one scheduling
    group, and a process's own nice only orders it within its session: a server started in a
    session of its own at nice 10 took as much CPU as the bot it stood beside (bench/notes.md,
    "past the table"). Without autogroups there is no such file, and nice alone does it."""
    autogroup = Path(f"/proc/{pid}/autogroup")
    with contextlib.suppress(OSError):  # no autogroups, or the process is gone
        autogroup.write_text(str(niceness))


class MlflowServer:
    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        niceness: int = 0,
        file_store: bool = False,
    ) -> None:
        """`niceness` > 0 runs it at a lower CPU priority (bench/: a stand-in for a remote
        server should not take the cores the bot is measured on); `file_store`: no SQL
        backend."""
        self.data_dir = data_dir
        self.file_store = file_store
        self.niceness = niceness
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90.0) -> None:
        if not MLFLOW_BIN.exists():
            raise RuntimeError(f"{MLFLOW_BIN} is missing: run `make install` first")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **MLFLOW_SERVER_ENV}
        if self.file_store:  # MLflow 3.17 keeps the file store only when asked to
            env["MLFLOW_ALLOW_FILE_STORE"] = "true"
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - the server owns it
        command = mlflow_server_command(
            MLFLOW_BIN, self.data_dir, self.port, file_store=self.file_store
        )
        if self.niceness > 0:
            command = ["nice", "-n", str(self.niceness), *command]
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        if self.niceness > 0:
            lower_session_priority(self.process.pid, self.niceness)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited; see {self.data_dir / 'server.log'}")
            if self.healthy():
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server did not start within {timeout_s} s")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
