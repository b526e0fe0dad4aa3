"""How an operator command of ``sekisho`` is declared: its name, the handler that runs it
and documents it, and, for most, which policy file it reads."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Literal, TextIO, TypeAlias

from sekisho.policy.validation.arguments import POLICY_HELP
from sekisho.secrets.names import PREFIX_OPTION, PREFIX_VARIABLE, check_prefix

Handler = Callable[[argparse.Namespace, TextIO], int]
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command(
    commands: Commands,
    name: str,
    handler: Handler,
    *,
    policy: Literal["argument", "option"] | None = "argument",
) -> argparse.ArgumentParser:
    """The command ``name``, run by ``handler(args, out)``.

    The handler's docstring is the command's help: its first line is what the list of
    commands says, the rest what ``sekisho NAME --help`` describes. The command names its
    policy file as an optional first argument (``"argument"``), as ``--policy``
    (``"option"``) or not at all (``None``); the caller adds the command's own arguments to
    what this returns.
    """
    doc = inspect.getdoc(handler)
    if not doc:
        raise TypeError(f"the handler of {name} has no docstring to be the command's help")
    summary, _, description = doc.partition("\n")
    command = commands.add_parser(name, help=summary, description=description.strip())
    if policy == "argument":
        command.add_argument("policy", nargs="?", help=POLICY_HELP)
    elif policy == "option":
        command.add_argument("--policy", help=POLICY_HELP)
    command.set_defaults(handler=handler)
    return command


def prefix_argument(text: str) -> str:
    """``--secret-prefix``'s value, checked."""
    try:
        return check_prefix(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_prefix_option(command: argparse.ArgumentParser) -> None:
    """``--secret-prefix``: the stack's prefix for an operator command (default: the
    environment's ``SEKISHO_SECRET_PREFIX``); the command's own arguments stay declared
    names."""
    command.add_argument(
        PREFIX_OPTION,
        dest="secret_prefix",
        type=prefix_argument,
        default=None,
        metavar="PREFIX",
        help=(
            "the stack's secret name prefix, e.g. its stack name: secret NAMEs are read "
            f"as PREFIX/NAME (default: ${PREFIX_VARIABLE}, else none)"
        ),
    )
