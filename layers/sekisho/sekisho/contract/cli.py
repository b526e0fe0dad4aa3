"""``sekisho openapi``: write the HTTP contract of a policy (``make openapi``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from sekisho.commands import Commands, add_command
from sekisho.policy.validation.arguments import read_policy_or_report

from .document import openapi_document, render


def _openapi(args: argparse.Namespace, out: TextIO) -> int:
    """write the HTTP contract (OpenAPI 3.1) of a policy

    Generate openapi.json from the policy and the relay's own models: one path per view,
    form and webhook source. Prints it without --output.
    """
    policy = read_policy_or_report(args.policy, out)
    if policy is None:
        return 1
    document = openapi_document(policy)
    text = render(document)
    if args.output is None:
        out.write(text)
        return 0
    target = Path(args.output)
    if args.check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is not what the code generates: run `make openapi`", file=out)
            return 1
        print(f"ok: {target} matches the code", file=out)
        return 0
    target.write_text(text, encoding="utf-8")
    routes = len(document["paths"])
    print(f"wrote {target} ({routes} routes)", file=out)
    return 0


def add_openapi(commands: Commands) -> None:
    command = add_command(commands, "openapi", _openapi)
    command.add_argument("--output", help="the file to write (openapi.json)")
    command.add_argument(
        "--check", action="store_true", help="exit 1 unless --output already holds it"
    )
