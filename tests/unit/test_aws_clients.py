"""One module builds boto3 clients: each service's Config in one place, one client per
container, short timeouts everywhere a request waits."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sekisho import aws

LAYER = Path(aws.__file__).parent


def boto3_client_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("client", "resource")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "boto3"
    ]


def test_no_module_of_the_layer_but_sekisho_aws_builds_a_boto3_client():
    builders = {
        str(path.relative_to(LAYER)): lines
        for path in sorted(LAYER.rglob("*.py"))
        if (lines := boto3_client_calls(path))
    }
    assert set(builders) == {"aws.py"}, builders


@pytest.mark.parametrize("service", sorted(aws.CONFIGS))
def test_every_client_fails_fast_and_retries_in_standard_mode(service):
    config = aws.CONFIGS[service]
    assert config.connect_timeout <= 2
    assert config.read_timeout <= 5
    assert config.retries["mode"] == "standard"


def test_a_container_builds_one_client_per_service_and_a_command_its_own():
    aws.client.cache_clear()
    try:
        assert aws.client("sqs") is aws.client("sqs")
        assert aws.fresh_client("sqs") is not aws.client("sqs")
        assert aws.client("sqs").meta.config.read_timeout == aws.CONFIGS["sqs"].read_timeout
    finally:
        aws.client.cache_clear()


def test_a_service_without_a_config_here_gets_no_client():
    with pytest.raises(KeyError):
        aws.fresh_client("ec2")


@pytest.mark.parametrize(
    ("component", "allow_hash"),
    [("Boto3/1.40", True), ("m/E,b#x", False), ("md/arch#x86_64 (linux)", True), ("", False)],
)
def test_user_agent_components_are_sanitised_once_and_exactly_as_botocore_does(
    component, allow_hash
):
    from botocore import useragent  # noqa: PLC0415

    aws.fresh_client("ssm")
    remembered = useragent.sanitize_user_agent_string_component
    original = remembered.__wrapped__
    assert remembered(component, allow_hash) == original(component, allow_hash)
    hits = remembered.cache_info().hits
    remembered(component, allow_hash)
    assert remembered.cache_info().hits == hits + 1
