"""``sekisho seats reconcile FORM``: the seat counters beside the records of kintone.

Reads the form's records with ``capacity.token_secret`` (a view-only token, from Secrets
Manager under the stack's prefix) and the counters from the entries table (``--table``,
else ``ENTRIES_TABLE``). Prints one row per counter; changes nothing unless ``--apply``,
and then each counter only if it still holds what was read (a submission in between
leaves it for the next run).
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from botocore.exceptions import BotoCoreError

from sekisho import aws
from sekisho.commands import Commands, add_command, add_prefix_option
from sekisho.errors import NotFound, SekishoError
from sekisho.kintone.client import KintoneClient
from sekisho.policy.validation.arguments import read_policy_or_report
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.settings import Settings

from .ledger import EntryLedger
from .reconcile import CounterState, compare

TABLE_VARIABLE = "ENTRIES_TABLE"
HEADER = ("counter", "seats", "counter says", "kintone says", "difference")
EXIT_OK, EXIT_DIFFERS, EXIT_USAGE = 0, 1, 2


def _print(states: list[CounterState], out: TextIO) -> None:
    rows = [
        (s.counter, str(s.seats), str(s.counted), str(s.kintone), f"{s.difference:+d}")
        for s in states
    ]
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    for row in [HEADER, *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def _reconcile(args: argparse.Namespace, out: TextIO) -> int:
    """compare a form's seat counters with its records in kintone (fix them with --apply)

    Counts the seats kintone's records hold (receipt set, not cancelled, not waitlisted)
    with the capacity's view-only token, prints them beside the entries table's counters,
    and with --apply sets each counter that differs. Exits 0 when every counter agrees
    (or was set), 1 when some differ (or changed while being set), 2 on a policy, secret or
    configuration error.
    """
    policy = read_policy_or_report(args.policy, out)
    if policy is None:
        return EXIT_USAGE
    try:
        form = policy.form(args.form)
    except NotFound:
        print(f"error: the policy has no form {args.form!r}", file=out)
        return EXIT_USAGE
    capacity = form.capacity
    if capacity is None or capacity.token_secret is None:
        print(
            f"error: form {args.form!r} declares no capacity.token_secret to count with", file=out
        )
        return EXIT_USAGE
    table = args.table or os.environ.get(TABLE_VARIABLE)
    if not table:
        print(f"error: name the entries table with --table or {TABLE_VARIABLE}", file=out)
        return EXIT_USAGE
    try:
        secrets = SecretStore(
            SecretsManagerBackend(aws.fresh_client("secretsmanager"), prefix=args.secret_prefix),
            allowed=frozenset({capacity.token_secret}),
            ttl=0,
        )
        base_url = Settings.from_env().kintone_base_url or str(policy.kintone.base_url)
        client = KintoneClient(base_url, secrets.token_source(capacity.token_secret))
        entries = EntryLedger(table, aws.fresh_client("dynamodb"))
        states = compare(args.form, form, client, entries)
    except (SekishoError, BotoCoreError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=out)
        return EXIT_USAGE
    _print(states, out)
    differing = [s for s in states if s.difference]
    if not differing:
        print(f"ok: every counter of {args.form} agrees with kintone", file=out)
        return EXIT_OK
    if not args.apply:
        print(f"{len(differing)} counters differ; run again with --apply to set them", file=out)
        return EXIT_DIFFERS
    moved = [
        s.counter
        for s in differing
        if not entries.set_taken(args.form, s.counter, expected=s.counted, value=s.kintone)
    ]
    for state in differing:
        if state.counter not in moved:
            print(f"set: {state.counter} {state.counted} -> {state.kintone}", file=out)
    if moved:
        print(f"changed while reconciling, left as they are: {', '.join(moved)}", file=out)
        return EXIT_DIFFERS
    return EXIT_OK


def add_seats(commands: Commands) -> None:
    seats = commands.add_parser(
        "seats",
        help="the seat counters of forms with a capacity",
        description="Operator tasks on the seats of forms.",
    )
    actions = seats.add_subparsers(title="actions", metavar="ACTION", required=True)
    reconcile = add_command(actions, "reconcile", _reconcile, policy="option")
    reconcile.add_argument("form", help="the form's name in the policy")
    reconcile.add_argument("--apply", action="store_true", help="set the counters that differ")
    reconcile.add_argument("--table", help=f"the entries table (default: ${TABLE_VARIABLE})")
    add_prefix_option(reconcile)


__all__ = ["add_seats"]
