"""`python -m bot migrate` and `python -m bot store` read where the store lives through the
settings, `.env` included, like every other command; `store` without a store says which one it
looked for and fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.storage.store import FILE_NAME
from devkit.ports import free_port


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of the test's own; the store's settings only from its `.env`."""
    for name in ("DATABASE_URL", "BOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_migrate_and_store_read_bot_data_dir_from_dot_env(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / ".env").write_text("BOT_DATA_DIR=kept/here\n")
    assert main(["migrate"]) == 0
    assert (workdir / "kept" / "here" / FILE_NAME).exists()
    assert not (workdir / "data").exists()
    assert str(workdir / "kept" / "here" / FILE_NAME) in capsys.readouterr().out
    assert main(["store"]) == 0
    assert "questions: 0 pending, 0 in progress" in capsys.readouterr().out


def test_migrate_and_store_read_database_url_from_dot_env(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    (workdir / ".env").write_text(f"DATABASE_URL=postgresql://bot:s3cret@127.0.0.1:{port}/db\n")
    assert main(["migrate"]) == 1
    said = capsys.readouterr()
    assert f"127.0.0.1:{port}/db" in said.err and "s3cret" not in said.err + said.out
    assert main(["store"]) == 1
    said = capsys.readouterr()
    assert f"127.0.0.1:{port}/db" in said.err and "s3cret" not in said.err + said.out
    assert not (workdir / "data").exists()


def test_store_without_a_store_names_the_one_it_looked_for_and_fails(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["store"]) == 1
    said = capsys.readouterr()
    assert str(workdir / "data" / FILE_NAME) in said.err
    assert not (workdir / "data").exists()
