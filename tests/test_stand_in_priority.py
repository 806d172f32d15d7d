"""A stand-in started at a lower priority in a session of its own (the bench's tracking
server) is lower against other sessions too: with the kernel's autogroups, a process's own
nice orders it only within its session (bench/notes.md, "past the table")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devkit.mlflow_server import lower_session_priority

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    not Path("/proc/self/autogroup").exists(), reason="no autogroups: nice alone orders it"
)
def test_a_session_of_its_own_gets_the_niceness_for_its_group() -> None:
    process = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        lower_session_priority(process.pid, 10)
        assert Path(f"/proc/{process.pid}/autogroup").read_text().split()[-1] == "10"
    finally:
        process.kill()
        process.wait()
