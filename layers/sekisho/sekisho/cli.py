"""The ``sekisho`` command: operator tasks around the relay.

Each subcommand registers itself with :func:`build_parser` through a small ``add_*``
function and runs from a handler returning the exit status, so later commands
(``token stage``, ``probe``, ``rotate``) are one function each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from sekisho.contract.cli import add_openapi
from sekisho.policy import lint_policy
from sekisho.policy.arguments import POLICY_HELP, read_policy_or_report
from sekisho.policy.snapshot import PACKAGE_DIR, write_snapshot
from sekisho.rotation.cli import add_rotate, add_token
from sekisho.tokens.cli import add_probe

Handler = Callable[[argparse.Namespace, TextIO], int]


def _check(args: argparse.Namespace, out: TextIO) -> int:
    policy = read_policy_or_report(args.policy, out)
    if policy is None:
        return 1
    findings = lint_policy(policy)
    for finding in findings:
        print(finding, file=out)
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    if errors or (args.strict and warnings):
        return 1
    actions = sum(len(hook.actions) for hook in policy.webhooks.values())
    print(
        f"ok: {len(policy.views)} views, {len(policy.forms)} forms, "
        f"{len(policy.webhooks)} webhooks" + (f", {actions} actions" if actions else ""),
        file=out,
    )
    if args.snapshot is not None:
        # Only a policy that passed the check above is written: the snapshot is what a
        # function runs without validating again.
        written = write_snapshot(policy, args.snapshot)
        print(f"snapshot: {written.path} sha256 {written.digest}", file=out)
    return 0


def add_check(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check",
        help="validate and lint a policy file",
        description=(
            "Load the policy as the relay would and lint it. Exits 1 on any error (and "
            "on warnings with --strict)."
        ),
    )
    check.add_argument(
        "policy",
        nargs="?",
        help=POLICY_HELP,
    )
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument(
        "--snapshot",
        nargs="?",
        const=str(PACKAGE_DIR),
        metavar="DIR",
        help=(
            "when the check passes, write the reviewed snapshot (policy.snapshot.json and "
            "its SHA-256, policy.snapshot.sha256) into DIR (default: the layer's package, "
            f"{PACKAGE_DIR}); functions start from it without validating again"
        ),
    )
    check.set_defaults(handler=_check)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sekisho", description="Operate the sekisho kintone relay."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    add_check(commands)
    add_probe(commands)
    add_token(commands)
    add_rotate(commands)
    add_openapi(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
