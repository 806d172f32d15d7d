"""A throwaway PostgreSQL cluster from Debian's `postgresql` package, on a free loopback port.

`initdb` refuses to run as root: as root, the cluster belongs to the package's `postgres`
user and its commands run as that user (`runuser`). Durability is traded for speed
(`fsync=off`): a test cluster lives only as long as its tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from devkit.ports import free_port

DATABASE = "bot"


def postgres_bin_dir() -> Path:
    """Where Debian puts the server's programs (`/usr/lib/postgresql/<major>/bin`)."""
    override = os.environ.get("POSTGRES_BIN_DIR")
    if override:
        return Path(override)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_major, reverse=True)
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
    return found[0].parent


def _major(initdb: Path) -> int:
    try:
        return int(initdb.parent.parent.name)
    except ValueError:
        return 0


class PostgresServer:
    """`start()` makes a new cluster and serves database `bot` on loopback; `remove()` deletes it.

    The cluster lives in a new directory of its own under the system's temporary directory:
    as root it belongs to `postgres`, who must be able to reach it (a test's `tmp_path` is
    private to root).
    """

    def __init__(self, port: int | None = None) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="bot-postgres-"))
        self.port = port or free_port()
        self.bin = postgres_bin_dir()
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self, timeout_s: float = 60.0) -> None:
        cluster = self.data_dir / "cluster"
        if not cluster.exists():
            if self._as_root:
                shutil.chown(self.data_dir, "postgres", "postgres")
            self._run(
                "initdb",
                "-D",
                str(cluster),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            )
        self._run(
            "pg_ctl",
            "-D",
            str(cluster),
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            f"-p {self.port} -k {self.data_dir} -h 127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            "-w",
            "-t",
            str(int(timeout_s)),
            "start",
        )
        deadline = time.monotonic() + timeout_s
        while True:
            created = self._psql("postgres", f"CREATE DATABASE {DATABASE}", check=False)
            if created.returncode == 0 or b"already exists" in created.stderr:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {created.stderr.decode()}")
            time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        """`mode`: `fast` (clean), or `immediate` (as if the host lost power)."""
        cluster = self.data_dir / "cluster"
        if cluster.exists():
            self._run("pg_ctl", "-D", str(cluster), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def sql(self, statement: str) -> str:
        """Run one statement in the bot's database; its rows as psql prints them unaligned."""
        return self._psql(DATABASE, statement).stdout.decode()

    def _psql(
        self, database: str, statement: str, *, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        return self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            statement,
            check=check,
        )

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        binary = self.bin / program
        command = [str(binary if binary.exists() else program), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, timeout=120, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({result.returncode}): {result.stderr.decode()[-2000:]}"
            )
        return result
