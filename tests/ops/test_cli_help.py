"""Every ``davinci-pa ... --help`` prints plain text, not RST markup (issue 15, item 7)."""

from __future__ import annotations

import argparse

import pytest

from davinci_pa.cli import build_parser, main


def _command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.extend(_command_paths(sub, (*prefix, name)))
    return paths


COMMANDS = _command_paths(build_parser())


def test_every_subcommand_is_visited() -> None:
    assert ("hook",) in COMMANDS
    assert ("rules", "new") in COMMANDS
    assert len(COMMANDS) > 15


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "davinci-pa")
def test_help_has_no_rst_backticks(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: davinci-pa" in out
    assert "``" not in out
