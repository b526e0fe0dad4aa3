"""``sekisho token stage``: the operator's side of rotation.

Registered on the ``sekisho`` command by :func:`add_token`, in the style of ``add_check``:
the handler takes the parsed arguments and an output stream and returns the exit status.
No value read or stored here is ever printed. Rotating at once is Secrets Manager's
``aws secretsmanager rotate-secret`` on AWS; the local stack's stand-in for it,
``python -m devstack rotate`` (``make rotate``), lives outside the layer.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from botocore.exceptions import BotoCoreError

from sekisho import aws
from sekisho.commands import Commands, add_command, add_prefix_option
from sekisho.errors import ConfigurationError, SekishoError
from sekisho.secrets.names import prefixed

from .errors import StageInputInvalid
from .staging import MAX_VALUE_CHARS, clean_input, stage
from .versions import SecretVersions

FIELDS = ("token", "secret", "primary", "secondary")


def versions_for(prefix: str | None = None) -> SecretVersions:
    """Secrets Manager as boto3 finds it, speaking declared names under the stack's prefix
    (None: SEKISHO_SECRET_PREFIX); a ConfigurationError when it cannot be reached."""
    # A fresh client per command: boto3 honours AWS_ENDPOINT_URL (moto in `make dev`).
    try:
        return SecretVersions(prefixed(aws.fresh_client("secretsmanager"), prefix))
    except BotoCoreError as exc:  # no region, a broken profile: say so, no traceback
        raise ConfigurationError(f"cannot reach Secrets Manager: {type(exc).__name__}") from exc


def report_failure(out: TextIO, exc: SekishoError, prefix: str = "error") -> int:
    """Print ``exc`` as one ``prefix: code: detail`` line; the exit status 1."""
    print(f"{prefix}: {exc.code}: {exc.detail or exc.title}", file=out)
    return 1


# ------------------------------------------------------------------------ token stage


def _read_value() -> str:
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        raise StageInputInvalid("standard input is closed: pipe the value in")
    if stdin.isatty():
        # Typed by hand: not echoed, not in the terminal's scrollback.
        return getpass.getpass("value (not echoed): ")
    # A little more than the limit, so an over-long value is refused rather than cut.
    return stdin.read(MAX_VALUE_CHARS + 3)


def _stage(args: argparse.Namespace, out: TextIO) -> int:
    """stage the next value of a secret for its rotation (read from stdin)

    Read the new kintone API token (or webhook sender key) from standard input, never from
    the command line, and store it as a new version of the secret labelled SEKISHO_STAGED.
    The next rotation (the schedule, `aws secretsmanager rotate-secret` on AWS or
    `make rotate` on the local stack) then tests it and makes it current.
    Example: `pbpaste | sekisho token stage sekisho/kintone/deals-view`.
    """
    try:
        value = clean_input(_read_value())
        staged = stage(versions_for(args.secret_prefix), args.secret, value, field=args.field)
    except SekishoError as exc:
        return report_failure(out, exc)
    print(
        f"staged a new {staged.field} for {staged.secret} (version {staged.version_id}); "
        f"rotate it in with `make rotate SECRET={staged.secret}` on the local stack\n"
        f"    or `aws secretsmanager rotate-secret --secret-id {staged.secret}` on AWS",
        file=out,
    )
    return 0


def add_token(commands: Commands) -> None:
    token = commands.add_parser(
        "token",
        help="hand over the next kintone token or webhook sender key",
        description="Operator tasks on the secrets sekisho cannot generate itself.",
    )
    actions = token.add_subparsers(title="actions", metavar="ACTION", required=True)
    staging = add_command(actions, "stage", _stage, policy=None)
    staging.add_argument("secret", help="the secret's name (e.g. sekisho/kintone/deals-view)")
    staging.add_argument(
        "--field",
        choices=FIELDS,
        help="which key to replace (Box keeps two: primary and secondary)",
    )
    add_prefix_option(staging)
