"""`python -m bot report|export` take the words `/feedback-report` takes (and `--since`,
`--channel`), and without a tracking server point at the one `make run` starts."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.ops import report_cli
from bot.report.window import parse_window


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    report_cli.add_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.mark.parametrize("command", report_cli.COMMANDS)
def test_the_words_of_the_slash_command_choose_window_and_channel(command: str) -> None:
    query = report_cli.answer_query(parsed(command, "30d", "C0123ABCD"))
    assert (query.window.spec, query.channel) == ("30d", "C0123ABCD")
    query = report_cli.answer_query(
        parsed(command, "<#C0123ABCD|general>", "2026-01-01..2026-01-31")
    )
    assert query.window == parse_window("2026-01-01..2026-01-31")
    assert query.channel == "C0123ABCD"
    assert report_cli.answer_query(parsed(command)).window.spec == "7d"


def test_the_options_still_work_and_say_so_when_the_words_disagree() -> None:
    query = report_cli.answer_query(parsed("report", "--since", "24h", "--channel", "C0123ABCD"))
    assert (query.window.spec, query.channel) == ("24h", "C0123ABCD")
    for argv in (("report", "7d", "--since", "30d"), ("report", "C0AAAAAAA", "--channel", "C0B")):
        with pytest.raises(SystemExit) as exited:
            report_cli.answer_query(parsed(*argv))
        assert exited.value.code == 2


def test_bad_words_exit_2_with_the_slash_commands_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        report_cli.answer_query(parsed("report", "3d"))
    assert exited.value.code == 2
    assert "'3d'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        report_cli.answer_query(parsed("report", "#general"))  # no Slack here to find its ID
    assert "channel ID" in capsys.readouterr().err


def test_without_a_tracking_uri_the_cli_points_at_make_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    with pytest.raises(SystemExit) as exited:
        main(["report", "7d"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "MLFLOW_TRACKING_URI is not set" in err
    assert "make run" in err and "MLFLOW_TRACKING_URI=http://127.0.0.1:5000" in err
