"""A rotation function moto's Secrets Manager can "invoke" without Docker (a no-op), so
RotateSecret starts a rotation as AWS does: rotation enabled, an empty AWSPENDING version.
The tests then play the function themselves."""

from __future__ import annotations

import io
import zipfile

import boto3


def noop_rotation_function() -> str:
    """Its ARN; call inside ``mock_aws(config={"lambda": {"use_docker": False}})``."""
    role = boto3.client("iam").create_role(RoleName="rotate", AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "")
    return boto3.client("lambda").create_function(
        FunctionName="sekisho-rotate",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
