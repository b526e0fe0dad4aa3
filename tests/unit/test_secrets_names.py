"""Declared secret names under a stack's prefix, and back (sekisho.secrets.names)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from sekisho.commands import add_prefix_option
from sekisho.errors import ConfigurationError
from sekisho.secrets.errors import SecretOutsidePrefix, SecretPrefixInvalid
from sekisho.secrets.names import (
    PREFIX_VARIABLE,
    declared_name,
    full_name,
    prefixed,
    secret_id,
    secret_prefix,
)
from sekisho.settings import Settings

DECLARED = "sekisho/kintone/deals-view"
ARN_BASE = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:"


def arn(name: str) -> str:
    # Secrets Manager ends every secret's ARN with "-" and six random characters.
    return f"{ARN_BASE}{name}-Ab12Cd"


@pytest.mark.parametrize("prefix", ["sekisho-dev", "team/sekisho-dev", "sekisho"])
def test_a_declared_name_is_kept_under_the_prefix_and_found_again_from_its_name_or_arn(
    prefix: str,
) -> None:
    full = full_name(DECLARED, prefix)

    assert full == f"{prefix}/{DECLARED}"
    assert declared_name(full, prefix) == DECLARED
    assert declared_name(arn(full), prefix) == DECLARED


def test_the_prefix_comes_from_the_environment_and_unset_or_empty_means_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PREFIX_VARIABLE, raising=False)
    assert full_name(DECLARED) == DECLARED
    assert declared_name(arn(DECLARED)) == DECLARED
    monkeypatch.setenv(PREFIX_VARIABLE, "")
    assert full_name(DECLARED) == DECLARED
    monkeypatch.setenv(PREFIX_VARIABLE, "sekisho-prod")
    assert full_name(DECLARED) == f"sekisho-prod/{DECLARED}"
    assert declared_name(f"sekisho-prod/{DECLARED}") == DECLARED


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(f"sekisho-prod/{DECLARED}", id="another_stacks_name"),
        pytest.param(arn(f"sekisho-prod/{DECLARED}"), id="another_stacks_arn"),
        # A longer stack name that merely starts with this one's.
        pytest.param(f"sekisho-dev2/{DECLARED}", id="a_name_that_only_starts_alike"),
        pytest.param(DECLARED, id="a_name_without_the_prefix"),
        pytest.param("sekisho-dev/", id="the_prefix_alone"),
    ],
)
def test_a_secret_outside_the_prefix_is_refused_naming_it_and_the_prefix(secret: str) -> None:
    with pytest.raises(SecretOutsidePrefix) as refused:
        declared_name(secret, "sekisho-dev")

    assert refused.value.code == "secret_outside_prefix"
    assert "'sekisho-dev'/" in str(refused.value.detail)
    assert secret.removeprefix(ARN_BASE).removesuffix("-Ab12Cd") in str(refused.value.detail)
    # A configuration error: a browser would get the code, never the names.
    assert "detail" not in refused.value.problem()


@pytest.mark.parametrize(
    "prefix", ["team//x", "/team", "team/", "has space", "タグ", "x" * 257, "a\nb"]
)
def test_a_prefix_that_cannot_prefix_a_secret_name_is_refused(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SecretPrefixInvalid):
        full_name(DECLARED, prefix)
    monkeypatch.setenv(PREFIX_VARIABLE, prefix)
    with pytest.raises(SecretPrefixInvalid) as refused:
        secret_prefix()
    assert PREFIX_VARIABLE in str(refused.value)
    # Settings check it at cold start, so a bad deployment fails before any request.
    with pytest.raises(ConfigurationError, match="secret_prefix"):
        Settings.from_env({PREFIX_VARIABLE: prefix})


def test_settings_carry_the_prefix_and_default_to_none() -> None:
    assert Settings.from_env({}).secret_prefix == ""
    assert Settings.from_env({PREFIX_VARIABLE: "team/sekisho"}).secret_prefix == "team/sekisho"


def test_an_arn_is_sent_as_it_is_once_it_is_known_to_be_the_stacks() -> None:
    own = arn(f"sekisho-dev/{DECLARED}")

    assert secret_id(own, "sekisho-dev") == own
    assert secret_id(DECLARED, "sekisho-dev") == f"sekisho-dev/{DECLARED}"
    with pytest.raises(SecretOutsidePrefix):
        secret_id(arn(f"sekisho-prod/{DECLARED}"), "sekisho-dev")


class RecordingClient:
    """The calls a client got, answered with the name Secrets Manager would give."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.meta = "the client's own meta"

    def describe_secret(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("describe_secret", params))
        name = params["SecretId"].removeprefix(ARN_BASE).removesuffix("-Ab12Cd")
        return {"ARN": arn(name), "Name": name, "RotationEnabled": True}

    def list_secrets(self, **params: Any) -> list[str]:
        self.calls.append(("list_secrets", params))
        return ["not a dict"]


def test_the_prefixed_client_sends_full_names_and_answers_with_declared_ones() -> None:
    client = RecordingClient()
    manager = prefixed(client, "sekisho-dev")

    answer = manager.describe_secret(SecretId=DECLARED)

    assert client.calls == [("describe_secret", {"SecretId": f"sekisho-dev/{DECLARED}"})]
    assert answer["Name"] == DECLARED
    assert answer["ARN"] == arn(f"sekisho-dev/{DECLARED}")
    assert manager.describe_secret(SecretId=answer["ARN"])["Name"] == DECLARED
    assert manager.list_secrets(MaxResults=1) == ["not a dict"]
    assert manager.meta == "the client's own meta"


def test_the_prefixed_client_refuses_another_stacks_arn_before_calling() -> None:
    client = RecordingClient()

    with pytest.raises(SecretOutsidePrefix):
        prefixed(client, "sekisho-dev").describe_secret(SecretId=arn(f"sekisho-prod/{DECLARED}"))

    assert client.calls == []


def test_the_option_takes_a_prefix_and_refuses_a_malformed_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser()
    add_prefix_option(parser)

    assert parser.parse_args([]).secret_prefix is None
    assert parser.parse_args(["--secret-prefix", "team/x"]).secret_prefix == "team/x"
    with pytest.raises(SystemExit):
        parser.parse_args(["--secret-prefix", "team//x"])
    assert "single slashes" in capsys.readouterr().err
