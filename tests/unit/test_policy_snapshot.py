"""The reviewed policy snapshot: what a function restores at cold start is what was validated.

`sekisho check --snapshot` validates policy.yaml once and writes the result with its
SHA-256; a cold start restores it without pydantic and refuses it unless the bytes are
exactly the reviewed ones.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from sekisho.cli import main
from sekisho.errors import ConfigurationError
from sekisho.policy import Policy, SnapshotError
from sekisho.policy.model import MODELS
from sekisho.policy.reviewed import load_reviewed
from sekisho.policy.rule import Rule
from sekisho.policy.snapshot import (
    DIGEST_FILE,
    SNAPSHOT_FILE,
    policy_digest,
    read_snapshot,
    restore,
    snapshot_bytes,
    write_snapshot,
)
from sekisho.policy.validation import read_policy, schema, validate_policy

REPO = Path(__file__).resolve().parents[2]
REPO_POLICY = REPO / "policy.yaml"


def same(validated: Any, restored: Any, where: str = "policy") -> None:
    """``restored`` holds exactly what the validated policy holds, field by field."""
    if isinstance(validated, Rule):
        assert type(restored) is type(validated), where
        for name in validated.FIELDS:
            same(getattr(validated, name), getattr(restored, name), f"{where}.{name}")
    elif isinstance(validated, dict):
        assert type(restored) is dict, where
        assert list(restored) == list(validated), where  # declaration order kept
        for key, value in validated.items():
            same(value, restored[key], f"{where}.{key}")
    elif isinstance(validated, tuple):
        assert type(restored) is tuple, where
        assert len(restored) == len(validated), where
        for i, (a, b) in enumerate(zip(validated, restored, strict=True)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(validated, re.Pattern):
        assert (restored.pattern, restored.flags) == (validated.pattern, validated.flags), where
    else:
        assert type(restored) is type(validated), where
        assert restored == validated, where


def rich_policy() -> Policy:
    """The shipped policy, plus what it does not use: a claim, IP networks, a when with
    hours, networks and claims, a captcha, an upsert action with fixed list values,
    conditions of every value type and on a refetched record."""
    data = yaml.safe_load(REPO_POLICY.read_text(encoding="utf-8"))
    view = data["views"]["deal-status"]
    view["match"]["owner_id"] = {"code": "担当ID", "from": "claim:custom:partner_id"}
    view["single_predicate"] = "allowed"
    form = data["forms"]["seminar-apply"]
    form["captcha"] = {"provider": "turnstile", "secret": "sekisho/captcha/turnstile"}
    data["webhooks"]["demo-kintone"]["allow_ips"] = ["203.0.113.0/24", "2001:db8::/32"]
    data["views"]["my-applications"]["when"] = {
        "hours": {"days": ["mon", "fri"], "from": "22:00", "to": "02:00", "zone": "Europe/Berlin"},
        "networks": ["10.0.0.0/8", "2001:db8::/32"],
        "claims": {"email": "hanako@example.com"},
    }
    data["webhooks"]["demo-stripe"]["actions"]["mark-seminar-paid"]["when"] = RICH_CONDITION
    data["webhooks"]["demo-kintone"]["actions"]["audit-new-deal"]["when"] = {
        "/type": "ADD_RECORD",
        "/record/ステータス/value": ["商談中", "成約"],
    }
    return validate_policy(data)


# A value of each type a condition takes, and values that are equal in Python, not in JSON.
RICH_CONDITION = {
    "/data/object/payment_status": ["paid", "no_payment_required"],
    "/data/object/livemode": False,
    "/data/object/amount_total": 12000,
    "/data/object/metadata/flag": [1, True, "1"],
}
# What an event may have at a condition's pointers.
PROBES = ("paid", "unpaid", "", 0, 1, 12000, "12000", 1.0, True, False, "1", None, ["paid"])


POLICIES = {"shipped": lambda: read_policy(REPO_POLICY), "rich": rich_policy}


@pytest.fixture(params=sorted(POLICIES))
def validated(request) -> Policy:
    return POLICIES[request.param]()


def written(tmp_path: Path, policy: Policy | None = None) -> Path:
    return write_snapshot(policy or read_policy(REPO_POLICY), tmp_path).path


# ---------------------------------------------------------------- the round trip


def test_the_snapshot_round_trips_to_an_equal_policy(validated):
    restored = restore(snapshot_bytes(validated))
    same(validated, restored)
    assert snapshot_bytes(restored) == snapshot_bytes(validated)
    assert policy_digest(restored) == policy_digest(validated)


def test_the_restored_policy_answers_as_the_validated_one(validated):
    restored = restore(snapshot_bytes(validated))
    for section in ("views", "forms", "webhooks", "actions"):
        assert restored.secret_names(section) == validated.secret_names(section), section
    for name, view in validated.views.items():
        twin = restored.view(name)
        assert twin.field_types == view.field_types
        assert twin.predicate_codes == view.predicate_codes
        assert [r.claim for r in twin.match.values()] == [r.claim for r in view.match.values()]
        assert str(twin.guard.per_ip) == str(view.guard.per_ip)
        for rule, original in zip(twin.match.values(), view.match.values(), strict=True):
            for value in ("A1", "D000001", "", "x" * 65, "A1\n"):
                assert rule.accepts(value) == original.accepts(value)
    for name, form in validated.forms.items():
        twin = restored.form(name)
        assert list(twin.file_fields) == list(form.file_fields)
        assert [f.length_limit for f in twin.fields.values()] == [
            f.length_limit for f in form.fields.values()
        ]
    for name, hook in validated.webhooks.items():
        twin = restored.webhook(name)
        assert twin.networks == hook.networks
        for event_type in ("checkout.session.completed", "ADD_RECORD", None, "other"):
            found, expected = twin.action_for(event_type), hook.action_for(event_type)
            assert (found and found[0]) == (expected and expected[0])
        for action, original in zip(twin.actions.values(), hook.actions.values(), strict=True):
            assert action.write_permissions == original.write_permissions
            for pointer in original.when or ():
                for value in PROBES:
                    assert action.allows(pointer, value) == original.allows(pointer, value)


def test_a_condition_keeps_its_json_types_through_the_snapshot():
    validated = rich_policy()
    restored = restore(snapshot_bytes(validated))
    when = restored.webhook("demo-stripe").actions["mark-seminar-paid"].when
    assert when == {
        "/data/object/payment_status": ("paid", "no_payment_required"),
        "/data/object/livemode": (False,),
        "/data/object/amount_total": (12000,),
        "/data/object/metadata/flag": (1, True, "1"),
    }
    assert [type(v) for v in when["/data/object/metadata/flag"]] == [int, bool, str]
    assert type(when["/data/object/livemode"][0]) is bool
    paid = restored.webhook("demo-stripe").actions["mark-seminar-paid"]
    allowed = {repr(v) for v in PROBES if paid.allows("/data/object/metadata/flag", v)}
    assert allowed == {"1", "True", "'1'"}  # not 1.0, not "12000", not False
    assert not paid.allows("/data/object/livemode", 0)
    assert paid.allows("/data/object/livemode", False)
    # And a policy without one restores without one.
    shipped = restore(snapshot_bytes(read_policy(REPO_POLICY)))
    assert shipped.webhook("demo-kintone").actions["audit-new-deal"].when is None
    assert shipped.webhook("demo-stripe").actions["mark-seminar-paid"].when == {
        "/data/object/payment_status": ("paid",)
    }


def test_every_schema_class_validates_a_runtime_class_with_the_same_fields():
    seen: set[str] = set()

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation.__name__ in seen:
                return
            seen.add(annotation.__name__)
            runtime = MODELS[annotation.__name__]
            kept = list(runtime.FIELDS)
            # One key, one field in each, in the same order (the snapshot's order).
            assert kept == list(annotation.model_fields), annotation.__name__
            for field in annotation.model_fields.values():
                walk(field.annotation)
        for argument in typing.get_args(annotation):
            walk(argument)

    walk(schema.Policy)
    assert seen == set(MODELS)


def test_the_restored_policy_cannot_be_changed():
    restored = restore(snapshot_bytes(read_policy(REPO_POLICY)))
    with pytest.raises(AttributeError):
        restored.views = {}
    with pytest.raises(AttributeError):
        restored.view("deal-status").limit = 10_000
    with pytest.raises(AttributeError):
        del restored.view("deal-status").where


def test_the_snapshot_is_compact_json_in_declaration_order():
    data = snapshot_bytes(read_policy(REPO_POLICY))
    document = json.loads(data)
    assert document["format"] == 1
    assert list(document["policy"]["views"]["deal-status"]["match"]) == ["owner_id", "deal_id"]
    assert b"\n" not in data
    assert b": " not in data


def test_a_value_the_snapshot_does_not_know_is_refused_at_build(validated):
    hook = validated.webhooks["demo-kintone"].replace(grace_seconds=object())
    odd = validated.replace(webhooks={**validated.webhooks, "demo-kintone": hook})
    with pytest.raises(SnapshotError, match=r"webhooks\.demo-kintone\.grace_seconds"):
        snapshot_bytes(odd)


# ---------------------------------------------------------------- refusing what was not reviewed


def tamper_value(data: bytes) -> bytes:
    return data.replace(b'"limit":20', b'"limit":500')


def tamper_projection(data: bytes) -> bytes:
    # A field nobody reviewed for this view: the internal memo.
    return data.replace('"fields":["取引名"'.encode(), '"fields":["社内メモ","取引名"'.encode())


def tamper_secret(data: bytes) -> bytes:
    return data.replace(b"sekisho/kintone/deals-view", b"sekisho/kintone/deals-edit")


@pytest.mark.parametrize("tamper", [tamper_value, tamper_projection, tamper_secret])
def test_a_tampered_snapshot_refuses_to_load(tmp_path, tamper):
    path = written(tmp_path)
    original = path.read_bytes()
    changed = tamper(original)
    assert changed != original
    path.write_bytes(changed)
    with pytest.raises(SnapshotError, match="does not match its digest"):
        read_snapshot(path)


def test_a_snapshot_whose_digest_file_was_rewritten_is_refused_when_the_stack_pins_another(
    tmp_path,
):
    path = written(tmp_path)
    reviewed = hashlib.sha256(path.read_bytes()).hexdigest()
    changed = tamper_value(path.read_bytes())
    path.write_bytes(changed)
    (tmp_path / DIGEST_FILE).write_text(hashlib.sha256(changed).hexdigest() + "\n")
    read_snapshot(path)  # consistent with itself...
    with pytest.raises(SnapshotError, match="deployed for"):
        read_snapshot(path, pinned=reviewed)  # ...but not the reviewed one


@pytest.mark.parametrize(
    "digest_file",
    [None, "", "not a digest\n", "0" * 64 + "  policy.snapshot.json\n", "A" * 64 + "\n"],
    ids=["missing", "empty", "garbage", "another-digest", "upper-case"],
)
def test_a_snapshot_without_its_own_digest_is_refused(tmp_path, digest_file):
    path = written(tmp_path)
    (tmp_path / DIGEST_FILE).unlink()
    if digest_file is not None:
        (tmp_path / DIGEST_FILE).write_text(digest_file)
    with pytest.raises(SnapshotError):
        read_snapshot(path)


def with_digest(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / SNAPSHOT_FILE
    path.write_bytes(data)
    (tmp_path / DIGEST_FILE).write_text(f"{hashlib.sha256(data).hexdigest()}  {SNAPSHOT_FILE}\n")
    return path


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"format": 2, "policy": {"$model": "Policy"}}',
        b'{"format": 1, "policy": {"$model": "Settings"}}',
        b'{"format": 1, "policy": {"$model": "ViewPolicy"}}',
        b'{"format": 1, "policy": {"$pattern": "("}}',
        b"\xff\xfe",
    ],
    ids=["empty", "array", "format-2", "unknown-model", "not-a-policy", "bad-pattern", "binary"],
)
def test_a_snapshot_that_is_not_a_policy_is_refused_even_with_a_matching_digest(tmp_path, data):
    with pytest.raises(SnapshotError):
        read_snapshot(with_digest(tmp_path, data))


def test_a_refused_snapshot_is_a_configuration_error_at_cold_start(tmp_path):
    path = written(tmp_path)
    path.write_bytes(tamper_value(path.read_bytes()))
    with pytest.raises(ConfigurationError):
        load_reviewed(path)


def test_a_pin_that_is_not_a_digest_is_refused(tmp_path):
    with pytest.raises(SnapshotError, match="SEKISHO_POLICY_DIGEST"):
        load_reviewed(written(tmp_path), pinned="latest")


# ---------------------------------------------------------------- how a container finds it


def test_a_json_file_is_restored_and_a_yaml_file_validated_with_the_same_digest(tmp_path):
    snapshot = load_reviewed(written(tmp_path))
    validated = load_reviewed(REPO_POLICY)
    assert (snapshot.kind, validated.kind) == ("snapshot", "validated")
    assert snapshot.digest == validated.digest
    same(validated.policy, snapshot.policy)


def test_a_yaml_policy_other_than_the_pinned_one_is_refused(tmp_path):
    other = tmp_path / "policy.yaml"
    data = yaml.safe_load(REPO_POLICY.read_text(encoding="utf-8"))
    data["views"]["deal-status"]["limit"] = 21
    other.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    reviewed = load_reviewed(REPO_POLICY).digest
    assert load_reviewed(REPO_POLICY, pinned=reviewed).digest == reviewed
    with pytest.raises(SnapshotError, match="deployed for"):
        load_reviewed(other, pinned=reviewed)


def test_the_layers_snapshot_is_preferred_to_its_policy_yaml(tmp_path, monkeypatch):
    from sekisho.policy import source as module  # noqa: PLC0415

    monkeypatch.delenv("SEKISHO_POLICY", raising=False)
    monkeypatch.setattr(module, "BUNDLED_YAML", REPO_POLICY)
    monkeypatch.setattr(module, "BUNDLED_SNAPSHOT", tmp_path / SNAPSHOT_FILE)
    assert load_reviewed().kind == "validated"
    written(tmp_path)
    assert load_reviewed().kind == "snapshot"


# ---------------------------------------------------------------- sekisho check --snapshot


def test_sekisho_check_snapshot_writes_the_snapshot_and_its_digest(tmp_path, capsys):
    assert main(["check", str(REPO_POLICY), "--snapshot", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    data = (tmp_path / SNAPSHOT_FILE).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    # sha256sum's format, so `sha256sum -c policy.snapshot.sha256` checks it by hand.
    assert (tmp_path / DIGEST_FILE).read_text() == f"{digest}  {SNAPSHOT_FILE}\n"
    assert f"sha256 {digest}" in out
    policy, read_digest = read_snapshot(tmp_path / SNAPSHOT_FILE)
    assert read_digest == digest
    same(read_policy(REPO_POLICY), policy)


def test_a_policy_that_fails_the_check_gets_no_snapshot(tmp_path, capsys):
    data = yaml.safe_load(REPO_POLICY.read_text(encoding="utf-8"))
    data["views"]["deal-status"]["fields"].append("存在しない")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out_dir = tmp_path / "layer"
    assert main(["check", str(bad), "--snapshot", str(out_dir)]) == 1
    assert not (out_dir / SNAPSHOT_FILE).exists()
    assert not (out_dir / DIGEST_FILE).exists()


def test_networks_and_patterns_are_restored_as_the_objects_the_relay_compares():
    restored = restore(snapshot_bytes(rich_policy()))
    (network, network6) = restored.webhook("demo-kintone").networks
    assert network == ipaddress.ip_network("203.0.113.0/24")
    assert ipaddress.ip_address("2001:db8::1") in network6
    rule = restored.view("deal-status").match["deal_id"]
    assert rule.pattern.fullmatch("D000001")
