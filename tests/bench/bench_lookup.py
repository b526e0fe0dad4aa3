"""`make bench`: what the lookup relay costs next to the least it could be.

Prints two figures, and records them for the table `make bench` ends with (a benchmark,
not a test: nothing here asserts a speed). The lookup's cold init is tests/bench/cold_init.py's,
measured there with every other function's.

1. Warm per-request time against the emulator (in its own process, on loopback): the
   lookup handler next to a bare Powertools route making the same single kintone call.
   Measured twice: with the guard's counters in memory (the relay's own overhead) and in
   DynamoDB (moto's server in its own process: the real shape, counters over a network).
2. Secrets Manager calls per 1,000 warm requests.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import requests
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from sekisho import runtime
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.wiring import lookup as lookup_wiring
from tests.apigw import rest_event
from tests.bench.cold_init import reviewed_snapshot
from tests.bench.figures import Figure, record

ROOT = Path(__file__).resolve().parents[2]

# The goals of the lookup issue (3): the relay next to the least a relay could do.
GOAL_WARM_RATIO = 1.5
GOAL_OVERHEAD_MS = 1.0
GOAL_SM_CALLS = 4

QUERY = '(ステータス not in ("取消")) and (担当ID = "A1") and (取引ID = "D000001") limit 20'
FIELDS = ["取引名", "金額", "ステータス", "担当ID", "取引ID"]
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-1",
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


class Context:
    function_name = "LookupFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:LookupFunction"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def process(args: list[str], ready_url: str) -> Iterator[None]:
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **FAKE_AWS}
    )
    try:
        for _ in range(200):
            with contextlib.suppress(requests.RequestException):
                requests.get(ready_url, timeout=0.5)
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{args[0]} did not start")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def timings(call: Callable[[int], None], n: int) -> list[float]:
    for i in range(50):
        call(i)
    out = []
    for i in range(n):
        t = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - t)
    return out


def summary(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1000:7.3f} ms   p90 {q[89] * 1000:7.3f} ms"


def load_handler(env: dict[str, str]):
    os.environ.update(env)
    for cached in (runtime.settings, runtime.policy, lookup_wiring.lookup_service):
        cached.cache_clear()
    spec = importlib.util.spec_from_file_location(
        f"lookup_{uuid.uuid4().hex}", ROOT / "functions" / "lookup" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def bare_route(kintone_url: str):
    """The least a relay could do: one Powertools route, one kintone call, no checks."""
    app = APIGatewayRestResolver()
    session = requests.Session()

    @app.post("/views/<view>")
    def view(view: str) -> dict:
        params = [("app", "1"), ("query", QUERY)] + [
            (f"fields[{i}]", f) for i, f in enumerate(FIELDS)
        ]
        answer = session.get(
            f"{kintone_url}/k/v1/records.json",
            params=params,
            headers={"X-Cybozu-API-Token": "deals-view-token"},
            timeout=5,
        )
        return {
            "records": [{k: v["value"] for k, v in r.items()} for r in answer.json()["records"]]
        }

    return app.resolve


def event(i: int) -> dict:
    # A different client address each time, so the per-IP limit measures, not refuses.
    return rest_event(
        "POST",
        "/views/deal-status",
        resource="/views/{view}",
        path_parameters={"view": "deal-status"},
        body={"match": {"owner_id": "A1", "deal_id": "D000001"}},
        headers={"Origin": "http://127.0.0.1:3000"},
        source_ip=f"198.18.{(i // 250) % 250}.{i % 250}",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.update(FAKE_AWS)
    layer = tempfile.TemporaryDirectory(prefix="sekisho-bench-")  # removed at exit

    kintone_port, moto_port = free_port(), free_port()
    kintone_url, moto_url = f"http://127.0.0.1:{kintone_port}", f"http://127.0.0.1:{moto_port}"
    env = {
        # The reviewed snapshot, as `make build` bundles it into the layer.
        "SEKISHO_POLICY": str(reviewed_snapshot(Path(layer.name))),
        "KINTONE_BASE_URL": kintone_url,
        "ALLOWED_ORIGINS": "http://127.0.0.1:3000",
        "GUARD_TABLE": "BenchGuardTable",
        "AWS_ENDPOINT_URL": moto_url,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }

    emulator = [sys.executable, "-m", "kintone_emulator", "--port", str(kintone_port)]
    moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)]
    with process(emulator, f"{kintone_url}/_emulator/stats"), process(moto, moto_url):
        dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
        dynamodb.create_table(
            TableName="BenchGuardTable",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sm = boto3.client("secretsmanager", endpoint_url=moto_url)
        sm.create_secret(
            Name="sekisho/kintone/deals-view",
            SecretString=json.dumps({"kind": "kintone-token", "token": "deals-view-token"}),
        )
        sm.create_secret(
            Name="sekisho/guard/hash-key",
            SecretString=json.dumps({"kind": "hmac", "key": secrets.token_urlsafe(48)}),
        )

        handler = load_handler(env)

        fetches = 0
        original_fetch = SecretsManagerBackend.fetch

        def counting_fetch(self, name, stage):
            nonlocal fetches
            fetches += 1
            return original_fetch(self, name, stage)

        SecretsManagerBackend.fetch = counting_fetch
        context = Context()

        def relay_call(i: int) -> None:
            response = handler(event(i), context)
            assert response["statusCode"] == 200, response

        bare = bare_route(kintone_url)

        def bare_call(i: int) -> None:
            assert bare(event(i), context)["statusCode"] == 200

        print(f"\nwarm requests ({args.requests} each, emulator and moto in their own processes)")
        # The relay's metric lines (EMF on stdout, as Lambda collects them) are written,
        # to /dev/null: their cost is measured, a terminal's is not.
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            bare_t = timings(bare_call, args.requests)
            dynamo_t = timings(relay_call, args.requests)
            service = lookup_wiring.lookup_service()
            service._guard = Guard(InMemoryGuardStore(), hash_key=b"b" * 32)
            fetches_before = fetches
            memory_t = timings(relay_call, args.requests)
        per_thousand = (fetches - fetches_before) * 1000 / (args.requests + 50)
        bare_p50 = statistics.median(bare_t)
        memory_p50 = statistics.median(memory_t)
        print(f"  bare Powertools route + kintone call   {summary(bare_t)}")
        for label, samples in (
            ("relay, guard in memory ", memory_t),
            ("relay, guard in DynamoDB", dynamo_t),
        ):
            p50 = statistics.median(samples)
            print(
                f"  {label}               {summary(samples)}   "
                f"ratio {p50 / bare_p50:.2f}x   overhead p50 {(p50 - bare_p50) * 1000:+.3f} ms"
            )
        print(
            f"\nSecrets Manager calls per 1,000 warm requests: {per_thousand:.1f} "
            f"({fetches} in all, cold start included)"
        )
    record(
        Figure("lookup warm p50, guard in memory, vs a bare route", memory_p50 / bare_p50, "x",
               GOAL_WARM_RATIO),
        Figure("lookup warm p50 overhead, guard in memory", (memory_p50 - bare_p50) * 1000, "ms",
               GOAL_OVERHEAD_MS, digits=3),
        Figure("lookup warm p50, guard in DynamoDB (moto)", statistics.median(dynamo_t) * 1000,
               "ms", digits=1),
        Figure("Secrets Manager calls per 1,000 warm lookups", per_thousand, "", GOAL_SM_CALLS,
               digits=1),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
