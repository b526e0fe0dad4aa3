"""The local stack's demo data agrees with policy.yaml: the emulator's seed has every app and
field the policy declares, its records pass the emulator's own field checks (a seed record
is stored without them), and local/devstack/secrets.yaml backs every token the policy
declares with a seed token of exactly the declared permissions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.demo_secrets import KintoneTokenSource, load_secrets_file, secret_strings
from kintone_emulator.schema import load_seed
from kintone_emulator.store import Store
from kintone_emulator.validation import check_record
from sekisho.policy.validation.loader import read_policy
from sekisho.tokens import declared_tokens

REPO = Path(__file__).resolve().parents[2]
POLICY = read_policy(REPO / "policy.yaml")
SEED = load_seed()
DECLARED = declared_tokens(POLICY)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    seeded = Store(SEED)
    yield seeded
    seeded.close()


# -- the seed --------------------------------------------------------------------------


@pytest.mark.parametrize("app", sorted(POLICY.apps))
def test_the_seed_has_every_field_the_policy_declares_with_the_same_type(app: int) -> None:
    declared = POLICY.apps[app].fields
    seeded = SEED.apps[app].fields

    assert {code: seeded[code].type for code in declared if code in seeded} == dict(declared)
    assert set(declared) <= set(seeded)


def test_the_seed_names_its_apps_as_the_policy_does() -> None:
    assert {app: SEED.apps[app].name for app in POLICY.apps} == {
        app: spec.name for app, spec in POLICY.apps.items()
    }


def test_every_receipt_and_key_field_of_the_policy_is_unique_in_the_seed() -> None:
    # Exactly-once delivery and the actions' lookups rest on kintone refusing a duplicate.
    fields = {(form.app, form.receipt_field) for form in POLICY.forms.values()}
    for hook in POLICY.webhooks.values():
        for action in hook.actions.values():
            if action.key is not None:
                fields.add((action.app, action.key.field))
            if action.operation == "add":
                fields.add((action.app, action.receipt_field))

    assert fields, "the demo policy has receipt fields"
    assert {(app, code) for app, code in fields if SEED.apps[app].fields[code].unique} == fields


@pytest.mark.parametrize("app", sorted(SEED.apps))
def test_every_seed_record_passes_the_emulators_own_field_checks(store: Store, app: int) -> None:
    spec = SEED.apps[app]
    for record in store.records(app):
        values = {code: {"value": record[code]["value"]} for code in spec.fields if code in record}
        values = {code: v for code, v in values.items() if not spec.fields[code].is_system}

        assert check_record(spec, values, partial=False).errors == {}, record["$id"]


@pytest.mark.parametrize("app", sorted(SEED.apps))
def test_the_seed_records_of_an_app_hold_no_duplicate_in_a_unique_field(app: int) -> None:
    spec = SEED.apps[app]
    for code in (code for code, field in spec.fields.items() if field.unique):
        values = [str(r[code]) for r in spec.records if r.get(code) not in (None, "")]

        assert len(values) == len(set(values)), code


# -- secrets.yaml ------------------------------------------------------------------------


def test_secrets_yaml_backs_every_declared_token_with_exactly_its_app_and_permissions() -> None:
    spec = load_secrets_file().secrets
    tokens = {name: source for name, source in spec.items() if source.kind == "kintone-token"}

    assert set(tokens) == set(DECLARED)
    for name, declared in DECLARED.items():
        source = tokens[name]
        assert isinstance(source, KintoneTokenSource)
        assert (source.app, source.permissions) == (declared.app, declared.permissions), name


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_each_declared_token_secret_holds_the_seed_token_of_exactly_its_permissions(
    name: str,
) -> None:
    declared = DECLARED[name]
    value = json.loads(secret_strings(load_secrets_file(), SEED)[name])

    (token,) = [t for t in SEED.tokens if t.token == value["token"]]
    assert value["kind"] == "kintone-token"
    assert token.active
    assert (token.app, token.permissions) == (declared.app, declared.permissions)


@pytest.mark.parametrize(
    ("secret", "token"),
    [
        ("sekisho/kintone/seminar-edit", "seminar-edit-token"),
        ("sekisho/kintone/seminar-payment-view", "seminar-view-token"),
        ("sekisho/kintone/audit-add", "audit-add-token"),
    ],
)
def test_the_action_tokens_are_the_demo_tokens_of_the_seed(secret: str, token: str) -> None:
    assert json.loads(secret_strings(load_secrets_file(), SEED)[secret])["token"] == token
