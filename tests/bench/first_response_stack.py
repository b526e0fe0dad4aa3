"""The stack of the first-response bench (tests/bench/first_response.py): moto's server (a
process of its own) and the kintone emulator, provisioned from template.yaml as `make dev`
provisions them, and what each function's child and its bare relay's are given.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.bare_relays import RELAYS
from tests.bench.first_response_child import Target

ROOT = Path(__file__).resolve().parents[2]

# Logical ids of template.yaml, by the short name every figure uses.
FUNCTIONS = {
    "lookup": "LookupFunction",
    "intake": "IntakeFunction",
    "deliver": "DeliverFunction",
    "webhook": "WebhookFunction",
    "action": "ActionFunction",
    "session": "SessionFunction",
    "partner": "PartnerFunction",
}


@dataclass
class Stack:
    """moto (a process of its own) and the kintone emulator, provisioned from template.yaml
    as `make dev` provisions them, and what each function's process is given."""

    moto_url: str
    kintone_url: str
    targets: dict[str, Target]
    bare_env: dict[str, str]
    kintone: Any
    moto_client: Callable[[str], Any]
    secret_prefix: str
    policy: Any


@contextlib.contextmanager
def stack() -> Iterator[Stack]:
    from devstack.aws import Moto  # noqa: PLC0415 - the child processes never import these
    from devstack.buckets import create_buckets  # noqa: PLC0415
    from devstack.cfn import Resolver, load_template, parameter_values  # noqa: PLC0415
    from devstack.demo_secrets import (  # noqa: PLC0415
        DEFAULT_SECRETS_FILE,
        load_secrets_file,
        secret_strings,
    )
    from devstack.layer_modules import layer_requirements, unshipped_modules  # noqa: PLC0415
    from devstack.mail_identity import create_mail_identity, mail_sender  # noqa: PLC0415
    from devstack.provision import (  # noqa: PLC0415
        create_parameters,
        create_secrets,
        create_tables,
        register_resources,
        secret_prefix,
    )
    from devstack.queues import create_queues  # noqa: PLC0415
    from devstack.sam import functions  # noqa: PLC0415
    from devstack.stack import lambda_environment, local_parameters  # noqa: PLC0415
    from kintone_emulator import server as kintone_server  # noqa: PLC0415
    from kintone_emulator.schema import DEFAULT_SEED  # noqa: PLC0415
    from sekisho.policy.snapshot import write_snapshot  # noqa: PLC0415
    from sekisho.policy.validation.loader import read_policy  # noqa: PLC0415

    with contextlib.ExitStack() as cleanup:
        moto = Moto()
        cleanup.callback(moto.stop)
        kintone = kintone_server.start(DEFAULT_SEED, "127.0.0.1", 0)
        cleanup.callback(kintone.stop)
        data = load_template(ROOT / "template.yaml")
        overrides = local_parameters(
            data.get("Parameters") or {}, kintone.url, "http://127.0.0.1:3000"
        )
        resolver = Resolver(data, parameter_values(data, overrides))
        register_resources(data, resolver, moto.url)
        create_tables(moto.client("dynamodb"), data, resolver)
        create_queues(moto.client("sqs"), data, resolver)
        create_buckets(moto.client("s3"), data, resolver)
        demo = secret_strings(load_secrets_file(DEFAULT_SECRETS_FILE), kintone.emulator.store.seed)
        create_secrets(moto.client("secretsmanager"), data, resolver, demo)
        create_parameters(moto.client("ssm"), data, resolver)
        create_mail_identity(moto.client("sesv2"), mail_sender(resolver.parameters))

        policy = read_policy(ROOT / "policy.yaml")
        layer = Path(tempfile.mkdtemp(prefix="first-response-"))
        cleanup.callback(lambda: __import__("shutil").rmtree(layer, ignore_errors=True))
        snapshot = write_snapshot(policy, layer).path
        specs = {spec.logical_id: spec for spec in functions(data, resolver, ROOT)}
        targets = {}
        for name, logical_id in FUNCTIONS.items():
            spec = specs[logical_id]
            env = lambda_environment(spec, moto, snapshot)
            # What the function's own layers do not ship (partner alone has cryptography).
            refused = unshipped_modules(*layer_requirements(spec.layer_dirs))
            env.update(
                FIRST_RESPONSE_PATH=os.pathsep.join(
                    [str(spec.code_dir), *(str(p) for p in spec.layer_dirs)]
                ),
                REFUSED_MODULES=",".join(sorted(refused)),
                # The venv's site-packages stand in for the runtime's boto3 and the
                # layer's wheels; nothing of this checkout is importable but the layer.
                PYTHONPATH="",
            )
            targets[name] = Target(spec.module_file, spec.handler_attr, env)
        # The bare relays: the same Lambda environment (names of tables, queues, secrets),
        # the same interpreter, and nothing of sekisho's.
        bare_env = {**targets["lookup"].env}
        for target in targets.values():
            bare_env.update(
                {k: v for k, v in target.env.items() if k not in bare_env or k.isupper()}
            )
        bare_env.pop("REFUSED_MODULES", None)
        bare_env["FIRST_RESPONSE_PATH"] = ""
        yield Stack(
            moto_url=moto.url,
            kintone_url=kintone.url,
            targets=targets,
            bare_env=bare_env,
            kintone=kintone,
            moto_client=moto.client,
            secret_prefix=secret_prefix(data, resolver),
            policy=policy,
        )


def libraries_target(bare: Target, preload: list[str]) -> Target:
    """The bare relay with the libraries sekisho's function uses imported first."""
    return Target(
        bare.handler_file, bare.attr, {**bare.env, "FIRST_RESPONSE_PRELOAD": ",".join(preload)}
    )


def snapstart_target(own: Target) -> Target:
    """Sekisho's function with SnapStart on: the eager init, its snapshot hooks run as
    Lambda runs them, the first request timed from the restore."""
    return Target(
        own.handler_file,
        own.attr,
        {**own.env, "SEKISHO_SNAPSTART": "1", "FIRST_RESPONSE_SNAPSTART": "1"},
    )


def bare_target(name: str, running: Stack) -> Target:
    env = {**running.bare_env, **running.targets[name].env}
    env.pop("REFUSED_MODULES", None)
    # The checkout's root, for the relays' shared module (tests.bench.bare_relays).
    env["FIRST_RESPONSE_PATH"] = str(ROOT)
    handler_file, attr = RELAYS[name]
    return Target(handler_file, attr, env)
