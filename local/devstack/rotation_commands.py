"""`python -m devstack env | kintone-token | rotate | retire-token`: rotation on the local
stack.

`sekisho probe` and `sekisho token stage` are the operator's commands, the same against
AWS as here; these supply what the local stack lacks: the environment that points them at
moto and the emulator, the kintone administrator who creates a token and, after the
rotation, deletes the old one, and Secrets Manager's part in a rotation (`rotate`: moto
cannot invoke the rotation function without Docker; on AWS, `aws secretsmanager
rotate-secret` runs the deployed one).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import requests

from sekisho.commands import add_prefix_option, prefix_argument
from sekisho.errors import SekishoError
from sekisho.policy.validation.arguments import POLICY_HELP, read_policy_or_report
from sekisho.rotation.cli import report_failure, versions_for
from sekisho.rotation.errors import RotationNotLocal, TokenPrivilegeMismatch
from sekisho.rotation.least_privilege import describe
from sekisho.rotation.steps import FINISH, STEPS, StepOutcome
from sekisho.rotation.versions import SecretVersions
from sekisho.rotation.wiring import build_rotator
from sekisho.secrets.names import PREFIX_OPTION
from sekisho.settings import Settings
from sekisho.tokens.declared import PERMISSIONS, DeclaredToken

from . import commands
from .aws import moto_client
from .errors import DevstackError
from .kintone_tokens import PREVIOUS, create_token, retire_token
from .operator_env import operator_environment, shell_lines
from .provision import LOCAL_SECRET_PREFIX
from .rotation_driver import ensure_rotation_enabled, is_local_endpoint, rotate

if TYPE_CHECKING:
    from .stack import RunningStack

COMMANDS = ("env", "kintone-token", "rotate", "retire-token")
# The ports `make dev` uses unless told otherwise; the banner names a port only when the
# stack runs on another one.
DEFAULT_MOTO_PORT = 5000
DEFAULT_KINTONE_PORT = 9100


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _permissions(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(PERMISSIONS))
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(PERMISSIONS)} (got {text!r})")
    return chosen


def _ports(command: argparse.ArgumentParser, *, moto: bool, kintone: bool) -> None:
    env = os.environ.get
    command.add_argument(
        "--host", default="127.0.0.1", help="the stack's address (default: %(default)s)"
    )
    if moto:
        command.add_argument(
            "--moto-port",
            type=int,
            default=env("MOTO_PORT", str(DEFAULT_MOTO_PORT)),
            help=f"moto's port (default: $MOTO_PORT or {DEFAULT_MOTO_PORT})",
        )
    if kintone:
        command.add_argument(
            "--kintone-port",
            type=int,
            default=env("KINTONE_PORT", str(DEFAULT_KINTONE_PORT)),
            help=f"the emulator's port (default: $KINTONE_PORT or {DEFAULT_KINTONE_PORT})",
        )


def _secret_prefix(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        PREFIX_OPTION,
        dest="secret_prefix",
        type=prefix_argument,
        default=LOCAL_SECRET_PREFIX,
        metavar="PREFIX",
        help=(
            "the stack's secret name prefix, under which each declared secret name is kept "
            "(default: %(default)s, the local stack's name)"
        ),
    )


def add_rotation_commands(commands: argparse._SubParsersAction) -> None:
    env = commands.add_parser(
        "env",
        help="print the shell lines that point probe, token stage and rotate at the stack",
        description=(
            "Print `export` lines (moto as Secrets Manager with its fake credentials, the "
            "emulator as kintone, the policy, the stack's secret name prefix) and an `unset` "
            "of every AWS profile or session "
            'variable, for `eval "$(python -m devstack env)"` in a shell of its own. No '
            "secret value is part of them."
        ),
    )
    _ports(env, moto=True, kintone=True)
    env.add_argument(
        "--policy",
        type=Path,
        default=Path("policy.yaml"),
        help="the policy the stack serves (default: %(default)s)",
    )
    _secret_prefix(env)
    env.set_defaults(handler=print_environment)

    token = commands.add_parser(
        "kintone-token",
        help="create an API token in the emulator and print it once, for sekisho token stage",
        description=(
            "Do what a kintone administrator does in an app's settings: create an active API "
            "token of APP with exactly PERMISSIONS. The token is printed once, on standard "
            "output, to be piped on: python -m devstack kintone-token --app 2 --permissions "
            "add | sekisho token stage sekisho/kintone/seminar-add. It is a demo token that "
            "works only against this emulator. Give more permissions than the policy "
            "declares (add,view) to watch the rotation refuse it."
        ),
    )
    _ports(token, moto=False, kintone=True)
    token.add_argument("--app", type=int, required=True, help="the kintone app's id")
    token.add_argument(
        "--permissions",
        type=_permissions,
        required=True,
        metavar="LIST",
        help=f"comma-separated, of {', '.join(PERMISSIONS)}",
    )
    token.set_defaults(handler=make_token)

    rotation = commands.add_parser(
        "rotate",
        help="rotate a secret now: the four steps of the rotation function, in this process",
        description=(
            "Run createSecret, setSecret, testSecret and finishSecret for a fresh "
            "ClientRequestToken against the configured Secrets Manager (AWS_ENDPOINT_URL: "
            "moto, as `python -m devstack env` sets it) and kintone (KINTONE_BASE_URL, else "
            "the policy's), exactly as the rotation function would. Exits 1 at the first "
            "failing step, with AWSCURRENT unchanged. Refuses any Secrets Manager but a "
            "local one: on AWS, use `aws secretsmanager rotate-secret` instead."
        ),
    )
    rotation.add_argument("secret", metavar="SECRET", help="the secret's name or ARN")
    rotation.add_argument("--policy", metavar="FILE", help=POLICY_HELP)
    add_prefix_option(rotation)
    rotation.set_defaults(handler=rotate_secret)

    retire = commands.add_parser(
        "retire-token",
        help="delete from the emulator the kintone token a rotation retired (AWSPREVIOUS)",
        description=(
            "The last step of a token renewal: read the token SECRET holds at --stage "
            "(AWSPREVIOUS: the one the last rotation replaced) from moto and delete it in "
            "the emulator, as an administrator deletes the old token in kintone. Refused "
            "while any secret still holds that token as AWSCURRENT. The token is never shown."
        ),
    )
    _ports(retire, moto=True, kintone=True)
    retire.add_argument("secret", help="the kintone token secret, e.g. sekisho/kintone/deals-view")
    retire.add_argument(
        "--stage", default=PREVIOUS, help="the version whose token goes (default: %(default)s)"
    )
    _secret_prefix(retire)
    retire.set_defaults(handler=retire_previous)


def print_environment(args: argparse.Namespace) -> int:
    environment = operator_environment(
        _url(args.host, args.moto_port),
        _url(args.host, args.kintone_port),
        args.policy,
        args.secret_prefix,
    )
    print(shell_lines(environment))
    return 0


def _session() -> requests.Session:
    session = requests.Session()
    # Loopback only: a proxy from the environment must not see a token.
    session.trust_env = False
    return session


def make_token(args: argparse.Namespace) -> int:
    kintone_url = _url(args.host, args.kintone_port)
    try:
        with _session() as http:
            token = create_token(http, kintone_url, args.app, args.permissions)
    except DevstackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # Standard output is the pipe into `sekisho token stage`: the token and nothing else.
    print(token, flush=True)
    print(
        f"created an active API token of app {args.app} with {', '.join(args.permissions)} in "
        f"the emulator at {kintone_url}; stage it with `sekisho token stage <secret>`",
        file=sys.stderr,
    )
    return 0


def retire_previous(args: argparse.Namespace) -> int:
    kintone_url = _url(args.host, args.kintone_port)
    try:
        with _session() as http:
            retired = retire_token(
                moto_client(_url(args.host, args.moto_port), "secretsmanager"),
                http,
                kintone_url,
                args.secret,
                stage=args.stage,
                prefix=args.secret_prefix,
            )
    except DevstackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if retired.deleted:
        print(f"deleted the {retired.stage} token of {retired.secret} in the emulator")
    else:
        print(f"the {retired.stage} token of {retired.secret} was already gone from the emulator")
    print(
        "    in kintone: delete the old token only once the secret cache TTL (300 s) has "
        "passed since the rotation, then update the app"
    )
    return 0


# ---------------------------------------------------------------------------- rotate


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
    versions = versions_for(prefix)
    if not is_local_endpoint(versions.endpoint_url):
        raise RotationNotLocal(
            f"Secrets Manager at {versions.endpoint_url} is not local (moto): on AWS use "
            f"`aws secretsmanager rotate-secret --secret-id {secret}`, which runs the "
            "deployed rotation function"
        )
    return versions


def rotate_secret(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`rotate`: the four steps for SECRET, each outcome printed (never a value)."""
    out = sys.stdout if out is None else out
    try:
        versions = _local_versions(args.secret, args.secret_prefix)
    except SekishoError as exc:
        return report_failure(out, exc)
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
        report_failure(out, exc, prefix=f"{where}: failed")
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


# ---------------------------------------------------------------------------- banner


def _example(tokens: Sequence[DeclaredToken]) -> DeclaredToken:
    # An add-only form token makes the best demo: renewing it touches no other route.
    singles = [token for token in tokens if token.permissions == frozenset({"add"})]
    return (singles or list(tokens))[0]


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def banner_lines(stack: RunningStack) -> list[str]:
    """How to probe, renew and rotate on this stack: the banner's `rotation:` section."""
    if not stack.kintone_tokens:
        return []
    moto, kintone = _port(stack.moto_url), _port(stack.kintone.url)
    ports = f"--moto-port {moto} --kintone-port {kintone}"
    make_vars = "".join(
        f" {name}={port}"
        for name, port, default in (
            ("MOTO_PORT", moto, DEFAULT_MOTO_PORT),
            ("KINTONE_PORT", kintone, DEFAULT_KINTONE_PORT),
        )
        if port != default
    )
    token = _example(stack.kintone_tokens)
    permissions = ",".join(sorted(token.permissions))
    devstack, sekisho = commands.devstack(), commands.script("sekisho")
    return [
        "  rotation (docs/rotation.md, On the local stack; run with the stack up):",
        f"    make probe{make_vars}",
        f"    {devstack} kintone-token --app {token.app} --permissions {permissions} "
        f"--kintone-port {kintone} | make stage{make_vars} SECRET={token.secret}",
        f"    make rotate{make_vars} SECRET={token.secret}",
        f"    {devstack} retire-token {token.secret} {ports}",
        f'    or in a shell of its own: eval "$({devstack} env {ports})", then '
        f"{sekisho} probe / token stage, {devstack} rotate",
    ]
