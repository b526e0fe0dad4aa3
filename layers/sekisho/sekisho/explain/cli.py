"""``sekisho explain``: a policy in words, or what a change to it widens (``--diff``)."""

from __future__ import annotations

import argparse
from typing import TextIO

from sekisho.commands import Commands, add_command
from sekisho.policy.validation.arguments import policy_path, read_policy_or_report

from .diff import render_diff
from .words import explain


def _explain(args: argparse.Namespace, out: TextIO) -> int:
    """say, route by route, what a policy exposes (Markdown)

    Who may call each route, which records it reaches and which fields leave kintone or
    may be written, the token and permission it uses, and its limits. With --diff OLD NEW,
    what NEW widens or narrows compared with OLD: exit 0 either way, 1 if a file is not a
    valid policy.
    """
    if args.diff is not None:
        old_name, new_name = args.diff
        old = read_policy_or_report(old_name, out)
        new = read_policy_or_report(new_name, out)
        if old is None or new is None:
            return 1
        out.write(render_diff(old, new, old_name, new_name))
        return 0
    policy = read_policy_or_report(args.policy, out)
    if policy is None:
        return 1
    out.write(explain(policy, str(policy_path(args.policy))))
    return 0


def add_explain(commands: Commands) -> None:
    command = add_command(commands, "explain", _explain)
    command.add_argument(
        "--diff", nargs=2, metavar=("OLD", "NEW"), help="what NEW widens or narrows from OLD"
    )
