"""Running the bot's command line (`python -m bot …`) as a person would, in a clean
environment: only the configuration a test gives reaches it."""

from __future__ import annotations

import subprocess
import sys

from devkit.bot_process import ROOT, clean_environment


def run_bot_command(
    *args: str, env: dict[str, str], timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=clean_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
