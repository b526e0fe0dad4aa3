"""The local stack's stand-in for a kintone administrator: tokens made in the emulator for
`sekisho token stage`, and the retired one deleted after a rotation, never shown."""

from __future__ import annotations

import json
import string
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests

from devstack.kintone_tokens import (
    TOKEN_CHARS,
    KintoneTokenError,
    create_token,
    holders,
    retire_token,
)
from kintone_emulator.server import RunningEmulator

pytestmark = pytest.mark.emulator


@pytest.fixture
def secretsmanager(moto_url: str) -> Any:
    return boto3.client("secretsmanager", endpoint_url=moto_url)


@pytest.fixture
def rotated(secretsmanager: Any) -> Callable[..., str]:
    """A kintone token secret (unique name: moto's server lives for the session) whose
    versions hold `previous` then `current`, as after one rotation."""

    def make(previous: str, current: str, kind: str = "kintone-token") -> str:
        name = f"sekisho/kintone/test-{uuid.uuid4().hex[:8]}"
        secretsmanager.create_secret(
            Name=name, SecretString=json.dumps({"kind": kind, "token": previous})
        )
        # PutSecretValue moves AWSCURRENT, and Secrets Manager gives AWSPREVIOUS to the
        # version that had it, as finishSecret's label move does.
        secretsmanager.put_secret_value(
            SecretId=name, SecretString=json.dumps({"kind": kind, "token": current})
        )
        return name

    return make


def can_read(kintone: RunningEmulator, http: requests.Session, token: str) -> int:
    return http.get(
        f"{kintone.url}/k/v1/records.json",
        params={"app": 2},
        headers={"X-Cybozu-API-Token": token},
        timeout=5,
    ).status_code


# -- kintone-token -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "permissions"),
    [(2, ["add"]), (1, ["view"]), (2, ["add", "view"]), (1, ["view", "edit", "delete", "manage"])],
)
def test_a_made_token_is_active_on_its_app_with_exactly_the_permissions_asked_for(
    kintone: RunningEmulator, http: requests.Session, app: int, permissions: list[str]
) -> None:
    token = create_token(http, kintone.url, app, permissions)

    made = kintone.emulator.store.token(token)
    assert made is not None
    assert (made.app, made.permissions, made.active) == (app, frozenset(permissions), True)


def test_made_tokens_look_like_kintones_and_are_never_the_same_twice(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    tokens = {create_token(http, kintone.url, 2, ["add"]) for _ in range(5)}

    assert len(tokens) == 5
    for token in tokens:
        assert len(token) == TOKEN_CHARS
        assert set(token) <= set(string.ascii_letters + string.digits)


def test_a_token_for_an_app_the_emulator_lacks_is_refused_with_the_emulators_reason(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    with pytest.raises(KintoneTokenError, match="there is no app 99"):
        create_token(http, kintone.url, 99, ["view"])


def test_an_emulator_that_is_not_running_is_named_not_traced(
    http: requests.Session, unused_loopback_url: str
) -> None:
    with pytest.raises(KintoneTokenError, match="is the stack running"):
        create_token(http, unused_loopback_url, 2, ["add"])


# -- retire-token ------------------------------------------------------------------------


def test_retiring_deletes_the_previous_token_and_leaves_the_current_one_working(
    kintone: RunningEmulator,
    http: requests.Session,
    secretsmanager: Any,
    rotated: Callable[..., str],
) -> None:
    old = create_token(http, kintone.url, 2, ["view"])
    new = create_token(http, kintone.url, 2, ["view"])
    name = rotated(old, new)

    retired = retire_token(secretsmanager, http, kintone.url, name)

    assert (retired.secret, retired.stage, retired.deleted) == (name, "AWSPREVIOUS", True)
    assert kintone.emulator.store.token(old) is None
    assert can_read(kintone, http, old) == 400  # GAIA_IA02, as in kintone
    assert can_read(kintone, http, new) == 200


def test_retiring_twice_reports_the_token_already_gone(
    kintone: RunningEmulator,
    http: requests.Session,
    secretsmanager: Any,
    rotated: Callable[..., str],
) -> None:
    name = rotated(create_token(http, kintone.url, 2, ["add"]), "seminar-add-token")
    retire_token(secretsmanager, http, kintone.url, name)

    assert retire_token(secretsmanager, http, kintone.url, name).deleted is False


@pytest.mark.parametrize(
    "holder",
    [
        pytest.param("itself", id="the_rotation_changed_nothing"),
        pytest.param("another", id="another_secret_shares_the_token"),
    ],
)
def test_a_token_some_secret_still_holds_as_current_is_not_deleted(
    kintone: RunningEmulator,
    http: requests.Session,
    secretsmanager: Any,
    rotated: Callable[..., str],
    holder: str,
) -> None:
    shared = create_token(http, kintone.url, 1, ["view"])
    if holder == "itself":
        name = rotated(shared, shared)
        expected_holders = [name]
    else:
        name = rotated(shared, create_token(http, kintone.url, 1, ["view"]))
        other = rotated("seminar-add-token", shared)
        expected_holders = [other]

    with pytest.raises(KintoneTokenError, match="still AWSCURRENT of") as refused:
        retire_token(secretsmanager, http, kintone.url, name)

    assert holders(secretsmanager, shared) == expected_holders
    assert kintone.emulator.store.token(shared) is not None
    assert shared not in str(refused.value)


NO_RETIRED_TOKEN = {
    "never_rotated": "has no AWSPREVIOUS version",
    "not_a_kintone_token": "is not a kintone-token",
    "no_such_secret": "has no AWSPREVIOUS version",
}


@pytest.mark.parametrize("setup", sorted(NO_RETIRED_TOKEN))
def test_nothing_is_deleted_without_a_retired_kintone_token_to_delete(
    kintone: RunningEmulator,
    http: requests.Session,
    secretsmanager: Any,
    rotated: Callable[..., str],
    setup: str,
) -> None:
    name = f"sekisho/kintone/test-{uuid.uuid4().hex[:8]}"
    if setup == "never_rotated":
        secretsmanager.create_secret(
            Name=name, SecretString=json.dumps({"kind": "kintone-token", "token": "x"})
        )
    elif setup == "not_a_kintone_token":
        name = rotated("seminar-add-token", "deals-view-token", kind="hmac")

    with pytest.raises(KintoneTokenError, match=NO_RETIRED_TOKEN[setup]):
        retire_token(secretsmanager, http, kintone.url, name)

    assert kintone.emulator.store.token("seminar-add-token") is not None
