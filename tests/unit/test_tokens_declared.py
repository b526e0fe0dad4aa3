"""What each kintone token may do is declared by the policy: one permission per use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sekisho.errors import ConfigurationError
from sekisho.policy import Policy
from sekisho.policy.validation import read_policy, validate_policy
from sekisho.tokens import PERMISSIONS, DeclaredToken, declared_tokens

REPO_POLICY = Path(__file__).resolve().parents[2] / "policy.yaml"

# Both apps have every field, so any route may point at either.
FIELDS = dict.fromkeys(["担当ID", "取引ID", "受付ID", "氏名"], "SINGLE_LINE_TEXT")
APPS = {1: {"name": "deals", "fields": FIELDS}, 2: {"name": "seminar", "fields": FIELDS}}


def view(app: int = 1, name: str = "tokens/deals-view") -> dict[str, Any]:
    return {
        "app": app,
        "token_secret": name,
        "match": {"owner_id": {"code": "担当ID"}, "deal_id": {"code": "取引ID"}},
        "fields": ["取引ID"],
    }


def form(app: int = 2, name: str = "tokens/seminar-add") -> dict[str, Any]:
    return {
        "app": app,
        "token_secret": name,
        "receipt_field": "受付ID",
        "fields": {"name": {"code": "氏名", "type": "text"}},
    }


def refetching_hook(app: int = 1, name: str = "tokens/deals-refetch") -> dict[str, Any]:
    return {
        "scheme": "kintone",
        "secret": "webhook/deals",
        "refetch": {"app": app, "token_secret": name, "fields": ["取引ID"]},
    }


def policy(**sections: dict[str, Any]) -> Policy:
    return validate_policy(
        {"kintone": {"base_url": "https://example.cybozu.com"}, "apps": APPS, **sections}
    )


SECTION_CASES = [
    pytest.param(
        policy(views={"deal-status": view()}),
        DeclaredToken("tokens/deals-view", 1, frozenset({"view"}), ("views.deal-status",)),
        id="a_view_token_may_read_its_app",
    ),
    pytest.param(
        policy(forms={"apply": form()}),
        DeclaredToken("tokens/seminar-add", 2, frozenset({"add"}), ("forms.apply",)),
        id="a_form_token_may_add_to_its_app",
    ),
    pytest.param(
        policy(webhooks={"deals": refetching_hook()}),
        DeclaredToken("tokens/deals-refetch", 1, frozenset({"view"}), ("webhooks.deals.refetch",)),
        id="a_refetch_token_may_read_the_refetch_app",
    ),
]


@pytest.mark.parametrize(("given", "expected"), SECTION_CASES)
def test_each_section_declares_one_permission_on_one_app(
    given: Policy, expected: DeclaredToken
) -> None:
    assert declared_tokens(given) == {expected.secret: expected}


def test_secrets_that_are_no_kintone_tokens_are_not_declared() -> None:
    given = policy(
        forms={"apply": {**form(), "captcha": {"provider": "turnstile", "secret": "captcha/x"}}},
        webhooks={"plain": {"scheme": "stripe", "secret": "webhook/stripe"}},
    )

    assert set(declared_tokens(given)) == {"tokens/seminar-add"}


def test_a_secret_two_views_share_is_one_token_used_by_both_routes() -> None:
    given = policy(views={"first": view(), "second": view()})

    assert declared_tokens(given) == {
        "tokens/deals-view": DeclaredToken(
            "tokens/deals-view", 1, frozenset({"view"}), ("views.first", "views.second")
        )
    }


def test_a_secret_a_view_and_a_refetch_share_still_declares_only_view() -> None:
    given = policy(
        views={"status": view(name="tokens/shared")},
        webhooks={"deals": refetching_hook(name="tokens/shared")},
    )

    [token] = declared_tokens(given).values()

    assert token.permissions == frozenset({"view"})
    assert token.routes == ("views.status", "webhooks.deals.refetch")


def test_a_secret_a_view_and_a_form_share_declares_what_both_need() -> None:
    # `sekisho check` reports the sharing; the probe then proves both and nothing more.
    given = policy(views={"status": view()}, forms={"apply": form(1, "tokens/deals-view")})

    [token] = declared_tokens(given).values()

    assert token.permissions == frozenset({"view", "add"})


def test_one_secret_for_two_apps_cannot_be_declared() -> None:
    given = policy(views={"status": view()}, forms={"apply": form(2, "tokens/deals-view")})

    with pytest.raises(ConfigurationError, match="belongs to one app"):
        declared_tokens(given)


def test_the_demo_policy_declares_exactly_the_ten_demo_tokens() -> None:
    declared = declared_tokens(read_policy(REPO_POLICY))

    assert {name: (t.app, t.permissions) for name, t in declared.items()} == {
        "sekisho/kintone/deals-view": (1, frozenset({"view"})),
        "sekisho/kintone/partner-deals-view": (1, frozenset({"view"})),
        "sekisho/kintone/seminar-mine": (2, frozenset({"view"})),
        "sekisho/kintone/seminar-add": (2, frozenset({"add"})),
        "sekisho/kintone/seminar-people": (2, frozenset({"view"})),
        "sekisho/kintone/seminar-correct": (2, frozenset({"edit"})),
        "sekisho/kintone/deals-refetch": (1, frozenset({"view"})),
        "sekisho/kintone/seminar-edit": (2, frozenset({"edit"})),
        "sekisho/kintone/seminar-payment-view": (2, frozenset({"view"})),
        "sekisho/kintone/audit-add": (3, frozenset({"add"})),
    }


def test_every_declared_permission_is_one_the_probe_knows() -> None:
    given = policy(
        views={"status": view()}, forms={"apply": form()}, webhooks={"d": refetching_hook()}
    )

    for token in declared_tokens(given).values():
        assert token.permissions <= set(PERMISSIONS)
    assert PERMISSIONS == ("view", "add", "edit", "delete", "manage")
