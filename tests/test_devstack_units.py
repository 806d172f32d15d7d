"""`make run`'s choice of ports (fast layer): the port configured, else the usual one when it
is free, else any free one."""

from __future__ import annotations

import socket

import pytest

from devkit.ports import free_port
from sandbox import devstack


def test_a_configured_port_is_used_as_given() -> None:
    assert devstack.choose_port({"PORT": " 4321 "}, "PORT") == 4321


def test_the_usual_port_when_it_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    usual = free_port()
    monkeypatch.setitem(devstack.PREFERRED_PORTS, "SANDBOX_PORT", usual)
    assert devstack.choose_port({"SANDBOX_PORT": ""}, "SANDBOX_PORT") == usual


def test_another_free_port_when_the_usual_one_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        usual = taken.getsockname()[1]
        monkeypatch.setitem(devstack.PREFERRED_PORTS, "MLFLOW_PORT", usual)
        chosen = devstack.choose_port({}, "MLFLOW_PORT")
        assert chosen != usual
        with socket.socket() as check:
            check.bind(("127.0.0.1", chosen))  # it was free
