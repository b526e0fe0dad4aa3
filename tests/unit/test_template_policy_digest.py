"""The stack shows which reviewed policy it runs: the PolicyDigest output.

The digest is read at deploy time from the layer the stack deployed, by a custom resource
whose code is the layer's own snapshot reader, so the output cannot say one policy while
the functions run another.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from sekisho.policy import source as source_module
from sekisho.policy.snapshot import write_snapshot
from sekisho.policy.validation import read_policy

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(REPO / "template.yaml"))


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


def test_the_stack_outputs_the_digest_of_the_policy_in_its_own_layer(template, resources):
    assert template["Outputs"]["PolicyDigest"]["Value"] == {
        "Fn::GetAtt": ["PolicyDigest", "Digest"]
    }
    digest = resources["PolicyDigest"]
    assert digest["Type"] == "Custom::PolicyDigest"
    assert digest["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["PolicyDigestFunction", "Arn"]}
    # A new layer version is read again, so the output follows every deployment.
    assert digest["Properties"]["Layer"] == {"Ref": "SekishoLayer"}


def test_the_digest_is_read_with_the_same_runtime_and_layer_as_the_functions(template, resources):
    reader = resources["PolicyDigestFunction"]["Properties"]
    functions = template["Globals"]["Function"]
    assert reader["Layers"] == functions["Layers"] == [{"Ref": "SekishoLayer"}]
    assert reader["Runtime"] == functions["Runtime"]
    assert reader["Architectures"] == functions["Architectures"]


def test_the_digest_reader_may_only_write_its_own_logs(resources):
    role = resources["PolicyDigestRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == {"Fn::GetAtt": ["PolicyDigestFunctionLogGroup", "Arn"]}
    group = resources["PolicyDigestFunctionLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


class FakeCfnResponse(types.ModuleType):
    """Lambda's cfnresponse, as given to inline code: records what would be sent."""

    SUCCESS, FAILED = "SUCCESS", "FAILED"

    def __init__(self) -> None:
        super().__init__("cfnresponse")
        self.sent: list[dict[str, Any]] = []

    # cfnresponse.send's own signature.
    def send(self, event, context, status, data, physical_id=None, reason=None) -> None:  # noqa: PLR0917
        self.sent.append({"status": status, "data": data, "id": physical_id, "reason": reason})


@pytest.fixture
def reader(resources, monkeypatch, tmp_path):
    """The inline handler, run as Lambda runs it, over a layer in tmp_path."""
    response = FakeCfnResponse()
    monkeypatch.setitem(sys.modules, "cfnresponse", response)
    layer_snapshot = write_snapshot(read_policy(REPO / "policy.yaml"), tmp_path)
    monkeypatch.setattr(source_module, "BUNDLED_SNAPSHOT", layer_snapshot.path)
    code = resources["PolicyDigestFunction"]["Properties"]["Code"]["ZipFile"]
    namespace: dict[str, Any] = {}
    exec(compile(code, "index.py", "exec"), namespace)  # noqa: S102 - the template's own code

    def handle(request_type: str, **event: Any) -> dict[str, Any]:
        namespace["handler"]({"RequestType": request_type, **event}, None)
        return response.sent[-1]

    handle.snapshot = layer_snapshot
    return handle


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_the_digest_reader_answers_the_digest_of_the_layers_snapshot(reader, request_type):
    sent = reader(request_type)
    assert sent["status"] == "SUCCESS"
    assert sent["data"] == {"Digest": reader.snapshot.digest}
    assert sent["id"] == reader.snapshot.digest


def test_a_tampered_snapshot_fails_the_deployment(reader):
    path = reader.snapshot.path
    path.write_bytes(path.read_bytes().replace(b'"limit":20', b'"limit":500'))
    sent = reader("Update")
    assert sent["status"] == "FAILED"
    assert "does not match its digest" in sent["reason"]


def test_deleting_the_stack_is_never_held_up_by_the_digest(reader):
    reader.snapshot.path.unlink()
    sent = reader("Delete", PhysicalResourceId="abc")
    assert (sent["status"], sent["id"]) == ("SUCCESS", "abc")
