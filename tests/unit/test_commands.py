"""``sekisho.commands.add_command``: a command is documented by its handler."""

from __future__ import annotations

import argparse
import io
from typing import TextIO

import pytest

from sekisho.commands import Commands, add_command


def _parser() -> tuple[argparse.ArgumentParser, Commands]:
    parser = argparse.ArgumentParser(prog="sekisho")
    return parser, parser.add_subparsers(title="commands", metavar="COMMAND", required=True)


def _greet(args: argparse.Namespace, out: TextIO) -> int:
    """greet the policy

    Print the policy file's name. Exits 0.
    """
    print(args.policy, file=out)
    return 0


def test_the_handlers_docstring_is_the_commands_help_and_description():
    parser, commands = _parser()
    command = add_command(commands, "greet", _greet)
    assert command.description == "Print the policy file's name. Exits 0."
    assert "greet the policy" in parser.format_help()


def test_the_command_runs_its_handler_with_the_policy_argument():
    parser, commands = _parser()
    add_command(commands, "greet", _greet)
    args = parser.parse_args(["greet", "p.yaml"])
    out = io.StringIO()
    assert args.handler(args, out) == 0
    assert out.getvalue() == "p.yaml\n"


def test_the_policy_may_be_an_option_or_absent():
    parser, commands = _parser()
    add_command(commands, "greet", _greet, policy="option")
    assert parser.parse_args(["greet", "--policy", "p.yaml"]).policy == "p.yaml"
    parser, commands = _parser()
    add_command(commands, "greet", _greet, policy=None)
    with pytest.raises(SystemExit):
        parser.parse_args(["greet", "p.yaml"])


def test_a_handler_without_a_docstring_is_refused():
    def undocumented(args: argparse.Namespace, out: TextIO) -> int:
        return 0

    _, commands = _parser()
    with pytest.raises(TypeError, match="no docstring"):
        add_command(commands, "quiet", undocumented)
