"""`sekisho explain`: the demo policy in words, and what a change widens or narrows."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sekisho.cli import main
from tests.unit.test_session_support import POLICY_PATH, shipped_policy_data


def _explain(capsys, *args: str) -> tuple[int, str]:
    status = main(["explain", *args])
    return status, capsys.readouterr().out


def _changed(tmp_path: Path, change) -> Path:
    data = shipped_policy_data()
    change(data)
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_demo_policy_is_said_route_by_route(capsys):
    status, out = _explain(capsys, str(POLICY_PATH))

    assert status == 0
    section = out.split("### `views.deal-status`")[1].split("###")[0]
    assert "anyone (anonymous browser)" in section
    assert "担当ID = the caller's owner_id" in section
    assert 'ステータス not in ("取消")' in section
    assert "`取引名`, `金額`" in section
    assert "社内メモ" not in out
    assert "`sekisho/kintone/deals-view` (record view on app 1)" in section
    assert "per_ip 30/hour" in section
    assert "budget 5000/day" in section
    partner = out.split("### `views.partner-deals`")[1].split("###")[0]
    assert "partner demo-erp" in partner
    assert "担当ID = claim owner_id" in partner
    assert "### realm `applicants`" in out
    assert "per_address 5/hour" in out
    assert "### partner `demo-erp`" in out
    assert "60/minute, 5000/day" in out


@pytest.mark.parametrize(
    ("change", "kind", "said"),
    [
        (
            lambda d: d["views"]["deal-status"]["fields"].append("社内メモ"),
            "Widens",
            "`views.deal-status`: field leaving kintone `社内メモ` added",
        ),
        (
            lambda d: d["views"]["deal-status"]["fields"].remove("金額"),
            "Narrows",
            "`views.deal-status`: field leaving kintone `金額` dropped",
        ),
        (
            lambda d: d["views"]["deal-status"]["guard"].update(per_ip="300/hour"),
            "Widens",
            "`views.deal-status`: per_ip 30/hour → 300/hour",
        ),
        (
            lambda d: d["views"]["deal-status"].update(
                single_predicate="allowed",
                match={"deal_id": d["views"]["deal-status"]["match"]["deal_id"]},
            ),
            "Widens",
            "`views.deal-status`: predicate `担当ID = the caller's owner_id` dropped",
        ),
        (
            lambda d: d["partners"]["demo-erp"]["routes"].update(forms=[]),
            "Narrows",
            "`forms.seminar-apply`: caller `partner demo-erp` dropped",
        ),
        (
            lambda d: d["realms"]["applicants"].pop("active"),
            "Widens",
            '`realms.applicants`: who may sign in records where `申込状況 not in ("キャンセル")` '
            "→ every record",
        ),
        (
            lambda d: d["realms"]["applicants"].update(session_seconds=3600),
            "Widens",
            "`realms.applicants`: session 900 s → 3600 s",
        ),
        (
            lambda d: d["realms"]["applicants"]["guard"].update(per_address="2/hour"),
            "Narrows",
            "`realms.applicants`: per_address 5/hour → 2/hour",
        ),
        (
            lambda d: d["partners"]["demo-erp"]["quota"].update(per_day=50000),
            "Widens",
            "`partners.demo-erp`: quota per day 5000 → 50000",
        ),
        (
            lambda d: d["partners"]["demo-erp"].update(networks=["203.0.113.0/24"]),
            "Narrows",
            "`partners.demo-erp`: network `any address` dropped",
        ),
        (
            lambda d: d["partners"]["demo-erp"]["routes"].update(forms=[]),
            "Narrows",
            "`partners.demo-erp`: route `forms.seminar-apply` dropped",
        ),
        (
            lambda d: d["partners"]["demo-erp"].update(client_cert={"subject": "CN=demo-erp"}),
            "Narrows",
            "`partners.demo-erp`: client certificate `none` → `CN=demo-erp`",
        ),
        (
            lambda d: d["partners"]["demo-erp"].update(enabled=False),
            "Narrows",
            "`partners.demo-erp`: switched off",
        ),
    ],
    ids=[
        "field_exposed",
        "field_hidden",
        "limit_raised",
        "predicate_dropped",
        "caller_dropped",
        "realm_condition_dropped",
        "session_lengthened",
        "codes_per_address_lowered",
        "partner_quota_raised",
        "partner_networks_declared",
        "partner_route_taken_away",
        "partner_certificate_bound",
        "partner_switched_off",
    ],
)
def test_a_change_is_reported_as_what_it_widens_or_narrows(tmp_path, capsys, change, kind, said):
    status, out = _explain(capsys, "--diff", str(POLICY_PATH), str(_changed(tmp_path, change)))

    assert status == 0
    section = out.split(f"## {kind}")[1].split("\n## ")[0]
    assert f"- {said}" in section


def test_an_unchanged_policy_changes_nothing_a_caller_could_reach(capsys):
    status, out = _explain(capsys, "--diff", str(POLICY_PATH), str(POLICY_PATH))

    assert status == 0
    assert "Nothing a caller could reach changes." in out


def test_an_invalid_policy_is_reported_not_explained(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("views: [", encoding="utf-8")

    status, out = _explain(capsys, str(bad))

    assert status == 1
    assert out.startswith("error:")
