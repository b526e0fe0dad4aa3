"""`python -m devstack env`: the environment that points sekisho's operator commands at the
local stack.

`sekisho probe`, `sekisho token stage` and `python -m devstack rotate` talk to whatever
Secrets Manager boto3 finds and whatever kintone the settings name. On the local stack
that is moto and the emulator, and nothing else: no profile, credentials file or session
token of the developer's may divert them to a real AWS account. The commands take declared
secret names, read under the stack's secret name prefix (SEKISHO_SECRET_PREFIX, as the
template gives the functions). Every value here is an address, a path, the prefix or moto's
fake credentials; no secret is ever part of it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from sekisho.secrets.names import PREFIX_VARIABLE

from .aws import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from .cfn import REGION
from .provision import LOCAL_SECRET_PREFIX

# A table's local name is its logical id (devstack.provision).
LOCAL_ENTRIES_TABLE = "EntriesTable"

# What could make boto3 reach a real account despite AWS_ENDPOINT_URL (a profile's
# credentials would be sent to moto, and a command run without the endpoint would use them).
AWS_IDENTITY_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)


def operator_environment(
    moto_url: str, kintone_url: str, policy: Path, secret_prefix: str = LOCAL_SECRET_PREFIX
) -> dict[str, str]:
    """The variables sekisho's commands read, pointed at the stack at these addresses."""
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "KINTONE_BASE_URL": kintone_url,
        # Absolute: the lines may be evaluated in another directory.
        "SEKISHO_POLICY": str(policy.resolve()),
        PREFIX_VARIABLE: secret_prefix,
        # `sekisho seats reconcile`: the template's EntriesTable, by its local name.
        "ENTRIES_TABLE": LOCAL_ENTRIES_TABLE,
    }


def shell_lines(environment: Mapping[str, str]) -> str:
    """POSIX shell lines that set `environment` and drop every other AWS identity."""
    lines = [
        "# sekisho's operator commands against the local stack (moto and the kintone emulator)",
        "unset " + " ".join(AWS_IDENTITY_VARIABLES),
        *(f"export {name}={shlex.quote(value)}" for name, value in environment.items()),
    ]
    return "\n".join(lines)
