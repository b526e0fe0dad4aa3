"""``sekisho probe``: the least-privilege proof for every kintone token the policy names.

Each token is read from Secrets Manager (AWSCURRENT; ``AWS_ENDPOINT_URL`` points boto3 at
the local stack's moto), under the stack's secret name prefix (``--secret-prefix``, else
``SEKISHO_SECRET_PREFIX``), and probed against the configured kintone. The table shows one
row per route and permission, by declared secret name; a token value is never printed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError

from sekisho import aws
from sekisho.commands import Commands, add_command, add_prefix_option
from sekisho.errors import ConfigurationError, SekishoError
from sekisho.policy import Policy
from sekisho.policy.validation.arguments import read_policy_or_report
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.settings import Settings

from .declared import DeclaredToken, declared_tokens
from .probe import INVALID_TOKEN, ProbeReport, probe_client, probe_token

BASE_URL_ENV = "KINTONE_BASE_URL"
TOKEN_KIND = "kintone-token"  # noqa: S105 - a secret's kind, not a secret

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HEADER = ("route", "secret", "app", "permission", "expected", "observed", "ok")


class _TokenUnusable(ConfigurationError):
    """A token secret that cannot be probed (absent, unreadable, or not a kintone token)."""


def _secrets_client() -> Any:
    # A client of its own, not the relay's cached one: a command runs once, and tests
    # start moto before calling it.
    return aws.fresh_client("secretsmanager")


def _token(store: SecretStore, name: str) -> str:
    secret = store.get(name)
    kind = secret.get("kind")
    # As rotation does: a secret must say its kind; one that says none is not taken for
    # a kintone token, whatever its fields.
    if kind != TOKEN_KIND:
        said = f"has kind {kind!r}" if isinstance(kind, str) else "says no kind"
        raise _TokenUnusable(f"secret {name!r} is not a {TOKEN_KIND}: it {said}")
    token = secret.get("token")
    if not isinstance(token, str) or not token:
        raise _TokenUnusable(f"secret {name!r} is a {TOKEN_KIND} without a non-empty token")
    return token


def _rows(declared: DeclaredToken, report: ProbeReport) -> list[tuple[str, ...]]:
    return [
        (
            route,
            report.secret,
            str(report.app),
            row.permission,
            "allowed" if row.expected else "denied",
            row.observed,
            "ok" if row.ok else "FAIL",
        )
        for route in declared.routes
        for row in report.rows
    ]


def _print_table(rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    print(line(HEADER).rstrip(), file=out)
    print("-+-".join("-" * width for width in widths), file=out)
    for row in rows:
        print(line(row).rstrip(), file=out)


def _summary(report: ProbeReport) -> str | None:
    if report.ok:
        return None
    if all(row.observed == INVALID_TOKEN for row in report.rows):
        problem = "kintone says the token is invalid or not yet active (GAIA_IA02)"
    else:
        # The report's own verdicts, as the rotation's test states them; what neither
        # names is an undeclared permission kintone gave no clear answer about.
        named = {*report.excess, *report.missing}
        unclear = [r.permission for r in report.rows if not r.ok and r.permission not in named]
        parts = [
            f"{label} {', '.join(permissions)}"
            for label, permissions in (
                ("excess", report.excess),
                ("missing", report.missing),
                ("not established", unclear),
            )
            if permissions
        ]
        problem = "; ".join(parts)
    return f"FAIL: {report.secret} (app {report.app}): {problem}"


def _base_url(args: argparse.Namespace, policy: Policy) -> str:
    """--base-url, else the validated KINTONE_BASE_URL, else the policy's."""
    return args.base_url or Settings.from_env().kintone_base_url or str(policy.kintone.base_url)


def _load(args: argparse.Namespace, out: TextIO) -> tuple[Policy, dict[str, DeclaredToken]] | None:
    policy = read_policy_or_report(args.policy, out)
    if policy is None:
        return None
    try:
        return policy, declared_tokens(policy)
    except SekishoError as exc:
        print(f"error: {exc}", file=out)
    return None


@dataclass
class _Run:
    """What one ``sekisho probe`` found, printed at the end."""

    base_url: str
    total: int
    rows: list[tuple[str, ...]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)

    def add(self, declared: DeclaredToken, report: ProbeReport) -> None:
        self.rows += _rows(declared, report)
        if (summary := _summary(report)) is not None:
            self.failures.append(summary)

    def finish(self, out: TextIO) -> int:
        if self.rows:
            _print_table(self.rows, out)
            print(file=out)
        for message in [*self.unread, *self.failures]:
            print(message, file=out)
        probed = self.total - len(self.unread)
        if self.failures:
            print(f"{len(self.failures)} of {probed} tokens FAILED at {self.base_url}", file=out)
        if self.unread:
            print(f"{len(self.unread)} of {self.total} token secrets were not probed", file=out)
            return EXIT_USAGE
        if self.failures:
            return EXIT_FAILED
        print(
            f"ok: {probed} tokens have exactly the declared permissions at {self.base_url}",
            file=out,
        )
        return EXIT_OK


def _probe(args: argparse.Namespace, out: TextIO) -> int:
    """prove each kintone token has exactly the permissions the policy declares

    Read every kintone token the policy names from Secrets Manager (AWSCURRENT) and ask
    kintone, with requests it refuses before writing, which of view, add, edit, delete and
    app management each token has. Exits 0 when every token has exactly its declared
    permissions, 1 on any excess or missing permission or unclear answer, 2 on a policy,
    secret or configuration error.
    """
    loaded = _load(args, out)
    if loaded is None:
        return EXIT_USAGE
    policy, tokens = loaded
    try:
        base_url = _base_url(args, policy)
    except SekishoError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_USAGE
    try:
        backend = SecretsManagerBackend(_secrets_client(), prefix=args.secret_prefix)
        secrets = SecretStore(backend, allowed=frozenset(tokens), ttl=0)
    except SekishoError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_USAGE
    except BotoCoreError as exc:
        print(f"error: Secrets Manager cannot be reached ({type(exc).__name__})", file=out)
        return EXIT_USAGE
    run = _Run(base_url, len(tokens))
    for declared in tokens.values():
        try:
            client = probe_client(base_url, _token(secrets, declared.secret))
        except SekishoError as exc:
            run.unread.append(f"error: {exc}")
            continue
        except ValueError as exc:
            print(f"error: kintone base URL {base_url!r}: {exc}", file=out)
            return EXIT_USAGE
        try:
            report = probe_token(client, declared, policy.apps[declared.app])
        except SekishoError as exc:
            # No verdict on this token: counted with the secrets that were not probed.
            run.unread.append(f"error: {declared.secret}: the probe failed: {exc}")
            continue
        run.add(declared, report)
    return run.finish(out)


def add_probe(commands: Commands) -> None:
    probe = add_command(commands, "probe", _probe)
    probe.add_argument(
        "--base-url",
        help=f"the kintone to probe (default: ${BASE_URL_ENV}, else the policy's base_url)",
    )
    add_prefix_option(probe)
