"""The ``sekisho`` command: operator tasks around the relay.

Each subcommand registers itself with :func:`build_parser` through a small ``add_*``
function and runs from a handler returning the exit status, so later commands
(``token stage``, ``probe``, ``rotate``) are one function each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from sekisho.commands import Commands, Handler, add_command
from sekisho.contract.cli import add_openapi
from sekisho.contract.document import openapi_document, render
from sekisho.entries.cli import add_seats
from sekisho.explain.cli import add_explain
from sekisho.partners.sign_cli import add_sign
from sekisho.policy import Policy
from sekisho.policy.snapshot import write_snapshot
from sekisho.policy.source import PACKAGE_DIR
from sekisho.policy.validation import lint_policy
from sekisho.policy.validation.arguments import policy_path, read_policy_or_report
from sekisho.rotation.cli import add_token
from sekisho.tokens.cli import add_probe


def _check(args: argparse.Namespace, out: TextIO) -> int:
    """validate and lint a policy file

    Load the policy as the relay would and lint it. Exits 1 on any error (and on warnings
    with --strict).
    """
    policy = read_policy_or_report(args.policy, out)
    if policy is None:
        return 1
    findings = lint_policy(policy)
    for finding in findings:
        print(finding, file=out)
    if args.openapi is not None:
        _warn_if_the_contract_drifted(policy, Path(args.openapi), policy_path(args.policy), out)
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    if errors or (args.strict and warnings):
        return 1
    actions = sum(len(hook.actions) for hook in policy.webhooks.values())
    print(
        f"ok: {len(policy.views)} views, {len(policy.forms)} forms, "
        f"{len(policy.webhooks)} webhooks"
        + (f", {actions} actions" if actions else "")
        + (f", {len(policy.realms)} realms" if policy.realms else "")
        + (f", {len(policy.partners)} partners" if policy.partners else ""),
        file=out,
    )
    if args.snapshot is not None:
        # Only a policy that passed the check above is written: the snapshot is what a
        # function runs without validating again.
        written = write_snapshot(policy, args.snapshot)
        print(f"snapshot: {written.path} sha256 {written.digest}", file=out)
    return 0


def _warn_if_the_contract_drifted(
    policy: Policy, contract: Path, source: Path, out: TextIO
) -> None:
    """A warning, never an error: the contract is regenerated in memory, as `sekisho openapi`
    writes it, and compared with the file."""
    try:
        current = contract.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current != render(openapi_document(policy)):
        print(f"warning: {contract} does not match {source}: run make openapi", file=out)


def add_check(commands: Commands) -> None:
    check = add_command(commands, "check", _check)
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument(
        "--openapi",
        metavar="FILE",
        help=(
            "also warn when FILE (openapi.json) is not the contract this policy generates "
            "(a warning only: the exit status is the check's, even with --strict)"
        ),
    )
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sekisho", description="Operate the sekisho kintone relay."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    add_check(commands)
    add_probe(commands)
    add_token(commands)
    add_openapi(commands)
    add_seats(commands)
    add_sign(commands)
    add_explain(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
