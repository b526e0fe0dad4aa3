"""`sekisho check` on partners: a partner that could choose its own records, reach
everything from everywhere, or sign without a key does not pass; a browser never
reaches a partner view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sekisho.cli import main
from sekisho.errors import NotFound
from sekisho.policy.validation.loader import read_policy
from tests.unit.test_session_support import POLICY_PATH, shipped_policy_data

ED25519_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
    "-----END PUBLIC KEY-----\n"
)


def check(tmp_path: Path, capsys, change: Callable[[dict], object]) -> tuple[int, str]:
    data = shipped_policy_data()
    change(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status = main(["check", str(path)])
    return status, capsys.readouterr().out


def _erp(data: dict) -> dict:
    return data["partners"]["demo-erp"]


def _deals(data: dict) -> dict:
    return data["views"]["partner-deals"]


def test_the_shipped_policy_declares_its_partner_and_passes(capsys):
    assert main(["check", "--strict", str(POLICY_PATH)]) == 0
    assert capsys.readouterr().out.strip().endswith(", 1 partners")


REFUSED = [
    (
        "a partner view whose every predicate the partner types",
        lambda d: _deals(d)["match"]["owner_id"].pop("from"),
        "a partner view needs a predicate from: claim:<name>",
    ),
    (
        "a claim the partner does not declare",
        lambda d: _erp(d)["claims"].pop("owner_id"),
        "takes match.owner_id from claim owner_id, which this partner does not declare",
    ),
    (
        "claims without the partner's own id",
        lambda d: _erp(d)["claims"].update(partner="someone-else"),
        "declare partner: demo-erp (the keyid)",
    ),
    (
        "reachable from everywhere without a quota",
        lambda d: _erp(d).pop("quota"),
        "a partner reachable from every address needs a quota",
    ),
    (
        "0.0.0.0/0 without a quota",
        lambda d: (_erp(d).pop("quota"), _erp(d).update(networks=["0.0.0.0/0"])),
        "a partner reachable from every address needs a quota",
    ),
    (
        "no key at all",
        lambda d: _erp(d).pop("key_secret"),
        "hmac-sha256 needs key_secret",
    ),
    (
        "ed25519 with a shared secret instead of a public key",
        lambda d: _erp(d).update(algorithm="ed25519"),
        "ed25519 needs public_key",
    ),
    (
        "a partner view no partner is given",
        lambda d: _erp(d)["routes"].update(views=[]),
        "no partner lists this view under routes.views",
    ),
    (
        "a partner given a browser's view",
        lambda d: _erp(d)["routes"]["views"].append("deal-status"),
        "view deal-status is a browser's: declare caller: partner on it",
    ),
    (
        "an undeclared form",
        lambda d: _erp(d)["routes"]["forms"].append("no-such-form"),
        "form no-such-form is not declared",
    ),
    (
        "an unknown key",
        lambda d: _erp(d).update(secret="x"),
        "Extra inputs are not permitted",
    ),
    (
        "a partner view sharing a browser view's token",
        lambda d: _deals(d).update(token_secret="sekisho/kintone/deals-view"),
        "one secret, one least-privilege purpose",
    ),
    (
        "two partners with one key",
        lambda d: d["partners"].update(
            {"other-erp": {**_erp(d), "claims": {"partner": "other-erp", "owner_id": "A2"}}}
        ),
        "each partner has its own key",
    ),
    (
        "two partners with one certificate subject",
        lambda d: (
            _erp(d).update(client_cert={"subject": "CN=erp,O=x"}),
            d["partners"].update(
                {
                    "other-erp": {
                        **_erp(d),
                        "key_secret": "sekisho/partner/other-erp",
                        "claims": {"partner": "other-erp", "owner_id": "A2"},
                    }
                }
            ),
        ),
        "certificate has the same subject",
    ),
]


@pytest.mark.parametrize(("case", "change", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_partner_rule_that_could_widen_what_a_partner_reaches_is_refused(
    tmp_path, capsys, case, change, message
):
    status, out = check(tmp_path, capsys, change)

    assert status == 1
    assert message in out


def test_an_ed25519_partner_holds_only_its_public_key_in_the_policy(tmp_path, capsys):
    def change(data: dict) -> None:
        _erp(data).pop("key_secret")
        _erp(data).update(algorithm="ed25519", public_key=ED25519_PEM)

    status, out = check(tmp_path, capsys, change)

    assert status == 0, out


def test_networks_with_a_quota_or_narrow_networks_alone_pass(tmp_path, capsys):
    def change(data: dict) -> None:
        _erp(data).pop("quota")
        _erp(data).update(networks=["203.0.113.0/24"])

    assert check(tmp_path, capsys, change)[0] == 0


def test_a_browser_never_reaches_a_partner_view_and_a_partner_never_a_browsers():
    policy = read_policy(POLICY_PATH)

    with pytest.raises(NotFound):
        policy.browser_view("partner-deals")
    with pytest.raises(NotFound):
        policy.session_view("partner-deals")
    with pytest.raises(NotFound):
        policy.partner_view("deal-status")
    assert policy.partner_view("partner-deals").caller == "partner"


def test_partner_function_reads_the_partner_keys_and_the_tokens_of_its_routes_only():
    policy = read_policy(POLICY_PATH)

    assert policy.secret_names("partners") == {
        "sekisho/partner/demo-erp",
        "sekisho/kintone/partner-deals-view",
        "sekisho/kintone/seminar-add",
    }
    assert "sekisho/kintone/partner-deals-view" not in policy.secret_names("views")
