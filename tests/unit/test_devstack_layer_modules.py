"""What a local worker may import: the layer's distributions, the runtime's boto3, the
standard library; anything else of this machine is refused as Lambda would refuse it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.layer_modules import NotInTheLayer, requirement_names, unshipped_modules

ROOT = Path(__file__).resolve().parents[2]
LAYER_REQUIREMENTS = ROOT / "layers" / "sekisho" / "requirements.txt"
SIGNATURES_REQUIREMENTS = ROOT / "layers" / "signatures" / "requirements.txt"


def test_a_refused_module_and_its_submodules_are_not_found_with_the_reason():
    finder = NotInTheLayer({"yaml"})

    for name in ("yaml", "yaml.constructor"):
        reason = "the function's layers do not ship it"
        with pytest.raises(ModuleNotFoundError, match=reason) as refused:
            finder.find_spec(name)
        assert refused.value.name == name
    assert finder.find_spec("json") is None
    assert finder.find_spec("yamlish") is None


def test_the_requirement_names_are_read_without_versions_markers_or_comments(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# a comment\nrequests==2.34.2\nPyYAML==6.0.3 ; python_version >= '3.11'\n"
        "aws_lambda_powertools>=3  # why\n-r other.txt\n\n",
        encoding="utf-8",
    )

    assert requirement_names(requirements) == ["requests", "pyyaml", "aws-lambda-powertools"]


def test_what_the_layer_needs_is_never_refused_and_the_dev_tree_is():
    refused = unshipped_modules(LAYER_REQUIREMENTS)

    shipped = {"requests", "urllib3", "aws_lambda_powertools", "jmespath", "boto3", "botocore"}
    assert not shipped & refused
    assert {"pydantic", "yaml", "moto", "pytest"} <= refused
    assert not {"json", "sekisho"} & refused


def test_cryptography_is_refused_to_a_function_without_the_signatures_layer_only():
    # PyJWT imports cryptography whenever it can: a session function must not find it.
    core = unshipped_modules(LAYER_REQUIREMENTS)
    both = unshipped_modules(LAYER_REQUIREMENTS, SIGNATURES_REQUIREMENTS)

    signatures = {"cryptography", "http_message_signatures", "http_sf", "cffi", "_cffi_backend"}
    assert signatures <= core
    assert not signatures & both
    assert both < core
    assert {"pydantic", "yaml", "moto"} <= both


def test_a_worker_forgets_a_refused_module_it_had_already_imported():
    script = f"""
import json, sys
import yaml  # as a script that started the stack would have
from devstack.layer_modules import refuse_unshipped
refuse_unshipped({json.dumps(["yaml"])})
try:
    import yaml
except ModuleNotFoundError as exc:
    print(json.dumps(["refused", "yaml" in sys.modules, str(exc)]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "local"), "PATH": "/usr/bin:/bin"},
    )
    state, still_loaded, message = json.loads(done.stdout)
    assert state == "refused"
    assert still_loaded is False
    assert "layers/*/requirements.txt" in message
