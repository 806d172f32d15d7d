"""The fast layer's guard: a test not marked `slow` may not start a process."""

from __future__ import annotations

import multiprocessing.util
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest


class ProcessInFastTest(AssertionError):
    pass


@contextmanager
def no_process_start_unless_slow(item: pytest.Item) -> Iterator[None]:
    """Within this block, starting a process raises, unless `item` is marked slow."""
    if item.get_closest_marker("slow") is not None:
        yield
        return

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise ProcessInFastTest(
            f"{item.nodeid} starts a process: mark it `pytest.mark.slow` (or have it use a "
            "fixture in tests/conftest.py PROCESS_FIXTURES)"
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "_execute_child", refuse)
        patch.setattr(os, "fork", refuse)
        patch.setattr(os, "posix_spawn", refuse)
        patch.setattr(multiprocessing.util, "spawnv_passfds", refuse)
        yield
