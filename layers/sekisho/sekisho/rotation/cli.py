"""``sekisho token stage`` and ``sekisho rotate``: the operator's side of rotation.

Registered on the ``sekisho`` command by :func:`add_token` and :func:`add_rotate`, in the
style of ``add_check``: each handler takes the parsed arguments and an output stream and
returns the exit status. No value read or stored here is ever printed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from botocore.exceptions import BotoCoreError

from sekisho import aws
from sekisho.commands import Commands, add_command
from sekisho.errors import ConfigurationError, SekishoError
from sekisho.policy.validation.arguments import read_policy_or_report
from sekisho.secrets.names import add_prefix_option, prefixed
from sekisho.settings import Settings

from .driver import ensure_rotation_enabled, is_local_endpoint, rotate
from .errors import RotationNotLocal, StageInputInvalid, TokenPrivilegeMismatch
from .least_privilege import describe
from .staging import MAX_VALUE_CHARS, clean_input, stage
from .steps import FINISH, STEPS, StepOutcome
from .versions import SecretVersions
from .wiring import build_rotator

FIELDS = ("token", "secret", "primary", "secondary")


def _versions(prefix: str | None = None) -> SecretVersions:
    # A fresh client per command: boto3 honours AWS_ENDPOINT_URL (moto in `make dev`).
    # Declared names in and out, under the stack's prefix (None: SEKISHO_SECRET_PREFIX).
    try:
        return SecretVersions(prefixed(aws.fresh_client("secretsmanager"), prefix))
    except BotoCoreError as exc:  # no region, a broken profile: say so, no traceback
        raise ConfigurationError(f"cannot reach Secrets Manager: {type(exc).__name__}") from exc


def _fail(out: TextIO, exc: SekishoError, prefix: str = "error") -> int:
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
    `sekisho rotate` (or the scheduled rotation) then tests it and makes it current.
    Example: `pbpaste | sekisho token stage sekisho/kintone/deals-view`.
    """
    try:
        value = clean_input(_read_value())
        staged = stage(_versions(args.secret_prefix), args.secret, value, field=args.field)
    except SekishoError as exc:
        return _fail(out, exc)
    print(
        f"staged a new {staged.field} for {staged.secret} (version {staged.version_id}); "
        f"rotate it in with `sekisho rotate {staged.secret}`",
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


# ----------------------------------------------------------------------------- rotate


def _print_outcome(outcome: StepOutcome, out: TextIO) -> None:
    print(f"{outcome.step}: {outcome.action}", file=out)
    for line in outcome.details:
        print(f"    {line}", file=out)


def _local_versions(secret: str, prefix: str | None = None) -> SecretVersions:
    """Secrets Manager, provided it is the local one (moto).

    On AWS the deployed rotation function rotates: Secrets Manager invokes it, retries it
    and alarms on it, under the function's role. This process would run the same steps
    under an operator's credentials, outside all of that.
    """
    versions = _versions(prefix)
    if not is_local_endpoint(versions.endpoint_url):
        raise RotationNotLocal(
            f"Secrets Manager at {versions.endpoint_url} is not local (moto): on AWS use "
            f"`aws secretsmanager rotate-secret --secret-id {secret}`, which runs the "
            "deployed rotation function"
        )
    return versions


def _rotate(args: argparse.Namespace, out: TextIO) -> int:
    """rotate a secret now: the four steps of the rotation function, in this process

    Run createSecret, setSecret, testSecret and finishSecret for a fresh ClientRequestToken
    against the configured Secrets Manager (AWS_ENDPOINT_URL: moto in `make dev`) and
    kintone (KINTONE_BASE_URL, else the policy's), exactly as the rotation function would.
    Exits 1 at the first failing step, with AWSCURRENT unchanged. Refuses any Secrets
    Manager but a local one: on AWS, use `aws secretsmanager rotate-secret` instead.
    """
    try:
        versions = _local_versions(args.secret, args.secret_prefix)
    except SekishoError as exc:
        return _fail(out, exc)
    policy = read_policy_or_report(args.policy, out)
    if policy is None:
        return 1
    where = "rotation"
    try:
        base_url = Settings.from_env().kintone_base_url or str(policy.kintone.base_url)
        rotator = build_rotator(policy, base_url, versions)
        if ensure_rotation_enabled(versions, args.secret):
            print(
                f"rotation enabled for {args.secret} (local Secrets Manager: the current "
                "value was copied to a new version, nothing changed)",
                file=out,
            )
        print(f"rotating {args.secret}", file=out)
        steps = iter(STEPS)
        where = next(steps)
        for outcome in rotate(rotator, args.secret):
            _print_outcome(outcome, out)
            where = next(steps, "rotation")
    except SekishoError as exc:
        _fail(out, exc, prefix=f"{where}: failed")
        if isinstance(exc, TokenPrivilegeMismatch):
            for line in describe(exc.report):
                print(f"    {line}", file=out)
        if where == FINISH:
            # Promotion is two label moves: the first may have happened.
            print(f"check the labels of {args.secret}: describe-secret", file=out)
        else:
            print(f"{args.secret} was not rotated: AWSCURRENT is unchanged", file=out)
        return 1
    print(f"rotated {args.secret}", file=out)
    return 0


def add_rotate(commands: Commands) -> None:
    rotation = add_command(commands, "rotate", _rotate, policy="option")
    rotation.add_argument("secret", help="the secret's name or ARN")
    add_prefix_option(rotation)
