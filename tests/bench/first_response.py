"""`make bench`: each request function's first response, next to a bare relay's.

What a visitor waits for on a cold container is not the init alone but the init and the
first request together (work deferred to the first request is still waited for). For
every function with a request path (lookup, intake, deliver, webhook, action, session,
partner) this starts a fresh ``python`` and times it from the parent's clock before the
exec to the moment the handler's answer is read back from the child: the interpreter's
start, the imports, the policy, the clients, and the one request, against moto's server
(a process of its own) and the kintone emulator on loopback.

Beside each, in the same round, a **bare relay** (tests/bench/bare_relays.py): one plain
function with boto3 and requests, no sekisho and no Powertools, making the same calls
(tests/integration/test_bare_relays_in_step.py keeps them in step) and answering the same
JSON. The two alternate round by round (which goes first alternates too); the ratio is the
median of the rounds' ratios.

Each child also reports its CPU time (user + sys, interpreter start included) and its
peak RSS (VmHWM) at the answer: the figures that choose each function's MemorySize
(Lambda gives CPU in proportion to memory, one vCPU at 1,769 MB): the smallest size of
MEMORY_SIZES whose estimated first response (CPU time scaled by 1769 / size, plus the
measured wait on the network) is within GOAL_FIRST_RESPONSE_MS, with room for the RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.figures import Figure, record

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
BARE = Path(__file__).with_name("bare_relays.py")

GOAL_RATIO = 1.15
GOAL_RSS_MB = 90
# The first response an arm64 container of the chosen size should give (estimated).
GOAL_FIRST_RESPONSE_MS = 1000
# Lambda's CPU share is in proportion to memory: one full vCPU at 1,769 MB.
FULL_VCPU_MB = 1769
MEMORY_SIZES = (128, 256, 384, 512, 640, 768, 1024, 1280, 1536, 1769)
# Memory beyond the peak RSS: the runtime's own, the response, a larger batch.
RSS_HEADROOM = 1.5

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

# The child, the same script for sekisho's handler and the bare relay's: load the handler
# file (Lambda's init), call it once with the event, write the answer back; then, on a
# second line, its CPU time and peak RSS at the answer. With FIRST_RESPONSE_RECORD set it
# also notes every AWS call and every kintone request (what the in-step test compares).
CHILD = r"""
import sys, os
if os.environ.get("FIRST_RESPONSE_RECORD"):
    calls = []
    import botocore.client, requests.adapters
    from urllib.parse import urlsplit
    _api = botocore.client.BaseClient._make_api_call
    def _make_api_call(self, operation, params):
        target = next((str(params[k]) for k in ("SecretId", "TableName", "QueueUrl", "Bucket",
                       "Name", "FromEmailAddress") if k in params), "")
        if "QueueUrl" in params:
            target = target.rsplit("/", 1)[-1]
        calls.append(["aws", self.meta.service_model.service_name, operation, target])
        return _api(self, operation, params)
    botocore.client.BaseClient._make_api_call = _make_api_call
    _send = requests.adapters.HTTPAdapter.send
    def send(self, request, *args, **kwargs):
        calls.append(["kintone", request.method, urlsplit(request.url).path, ""])
        return _send(self, request, *args, **kwargs)
    requests.adapters.HTTPAdapter.send = send
refused = frozenset(filter(None, os.environ.get("REFUSED_MODULES", "").split(",")))
if refused:
    import importlib.abc
    class _NotInTheLayer(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.partition(".")[0] in refused:
                raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
            return None
    sys.meta_path.insert(0, _NotInTheLayer())
import importlib.util, json, time
handler_file, attr, event_file, out_fd = sys.argv[1:5]
out = os.fdopen(int(out_fd), "w", encoding="utf-8")
sys.path[:0] = [p for p in os.environ.get("FIRST_RESPONSE_PATH", "").split(os.pathsep) if p]
spec = importlib.util.spec_from_file_location("app", handler_file)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with open(event_file, encoding="utf-8") as f:
    event = json.load(f)
class Context:
    aws_request_id = "first-response"
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bare")
    function_version = "$LATEST"
    memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:" + function_name
    log_group_name = log_stream_name = identity = client_context = None
    _deadline = time.time() + 30
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.time()) * 1000)
answer = getattr(module, attr)(event, Context())
cpu = time.process_time()
out.write("ANSWER " + json.dumps(answer, ensure_ascii=False) + "\n")
out.flush()
with open("/proc/self/status") as status:
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
extra = {"calls": calls} if os.environ.get("FIRST_RESPONSE_RECORD") else {}
out.write("BENCH " + json.dumps({"cpu": cpu, "rss_kb": rss, **extra}) + "\n")
out.close()
"""


@dataclass(frozen=True)
class Child:
    """One fresh process's first response."""

    wall: float  # seconds from before the exec to the answer read back
    cpu: float  # the child's user + sys seconds at the answer
    rss_mb: float
    answer: dict[str, Any]
    calls: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """What a child runs: a handler file, its attribute, its environment."""

    handler_file: Path
    attr: str
    env: dict[str, str]


def run_child(target: Target, event: Mapping[str, Any], *, record_calls: bool = False) -> Child:
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as f:
        json.dump(event, f, ensure_ascii=False)
    env = dict(target.env)
    if record_calls:
        env["FIRST_RESPONSE_RECORD"] = "1"
    # The answer comes back on a pipe of its own: the function's log lines (stdout, as in
    # Lambda) go to a file, read only when the child fails.
    read_fd, write_fd = os.pipe()
    try:
        with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(target.handler_file), target.attr, f.name,
                 str(write_fd)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
            )  # fmt: skip
            os.close(write_fd)
            with os.fdopen(read_fd, encoding="utf-8") as answers:
                first = answers.readline()
                wall = time.perf_counter() - start
                rest = answers.read()
            proc.wait(timeout=60)
            log.seek(0)
            output = log.read()
    finally:
        os.unlink(f.name)
    if proc.returncode != 0 or not first.startswith("ANSWER "):
        raise RuntimeError(f"{target.handler_file} {target.attr} failed:\n{output[-3000:]}")
    (line,) = [line for line in rest.splitlines() if line.startswith("BENCH ")]
    figures = json.loads(line.removeprefix("BENCH "))
    return Child(
        wall=wall,
        cpu=figures["cpu"],
        rss_mb=figures["rss_kb"] / 1024,
        answer=json.loads(first.removeprefix("ANSWER ")),
        calls=figures.get("calls", []),
    )


# ------------------------------------------------------------------------ the stack


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
    from devstack.layer_modules import unshipped_modules  # noqa: PLC0415
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
        refused = ",".join(sorted(unshipped_modules(ROOT / "layers/sekisho/requirements.txt")))
        specs = {spec.logical_id: spec for spec in functions(data, resolver, ROOT)}
        targets = {}
        for name, logical_id in FUNCTIONS.items():
            spec = specs[logical_id]
            env = lambda_environment(spec, moto, snapshot)
            env.update(
                FIRST_RESPONSE_PATH=os.pathsep.join(
                    [str(spec.code_dir), *(str(p) for p in spec.layer_dirs)]
                ),
                REFUSED_MODULES=refused,
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


def bare_target(name: str, running: Stack) -> Target:
    env = {**running.bare_env, **running.targets[name].env}
    env.pop("REFUSED_MODULES", None)
    env["FIRST_RESPONSE_PATH"] = ""
    return Target(BARE, f"{name}_handler", env)


# ------------------------------------------------------------------------ the events


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def _with_ip(event: dict[str, Any], n: int) -> dict[str, Any]:
    # Each round from an address of its own: the per-IP limits count, never refuse.
    event["requestContext"]["identity"]["sourceIp"] = f"198.18.{n // 200 % 200}.{n % 200 + 1}"
    return event


def _secret(running: Stack, declared: str) -> dict[str, Any]:
    from sekisho.secrets.names import full_name  # noqa: PLC0415

    answer = running.moto_client("secretsmanager").get_secret_value(
        SecretId=full_name(declared, running.secret_prefix)
    )
    return json.loads(answer["SecretString"])


def lookup_event(running: Stack, n: int) -> dict[str, Any]:
    return _with_ip(_event("lookup_valid.json"), n)


def intake_event(running: Stack, n: int) -> dict[str, Any]:
    return _with_ip(_event("intake_valid.json"), n)


def deliver_event(running: Stack, n: int) -> dict[str, Any]:
    # One queued submission of its own each round: a receipt already recorded would
    # make the first response a ledger hit, not a delivery.
    event = _event("deliver_batch.json")
    record = event["Records"][0]
    receipt = str(uuid.uuid4())
    body = json.loads(record["body"])
    body["receipt"] = receipt
    record["body"] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    record["messageAttributes"]["receipt"]["stringValue"] = receipt
    record["messageId"] = str(uuid.uuid4())
    event["Records"] = [record]
    return event


def action_event(running: Stack, n: int) -> dict[str, Any]:
    # A stripe event of its own each round (the ledger applies a key once).
    event = _event("action_batch.json")
    record = event["Records"][0]
    key = f"evt_first{uuid.uuid4().hex[:20]}"
    body = json.loads(record["body"])
    old = body["dedupe_key"]
    body["dedupe_key"] = key
    body["body"] = body["body"].replace(old, key)
    record["body"] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    record["messageAttributes"]["dedupe_key"]["stringValue"] = key
    record["messageId"] = str(uuid.uuid4())
    event["Records"] = [record]
    return event


def webhook_event(running: Stack, n: int) -> dict[str, Any]:
    from devstack.send import demo_body, new_event_id  # noqa: PLC0415
    from webhook_senders import sign  # noqa: PLC0415

    source = "demo-stripe"
    hook = running.policy.webhooks[source]
    secret = _secret(running, hook.secret)
    event_id = new_event_id(hook.scheme)
    body = demo_body(hook.scheme, event_id, hook)
    signed = sign(hook.scheme, body, secret, now=int(time.time()), delivery_id=event_id)
    event = _event("webhook_stripe_valid.json")
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "stripe-signature"}
    headers.update(signed.headers)
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    event["body"] = body.decode("utf-8")
    return event


def session_event(running: Stack, n: int) -> dict[str, Any]:
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    import jwt  # noqa: PLC0415

    realm = "applicants"
    key = _secret(running, f"sekisho/session/{realm}-key")
    secret = key.get("key") or key.get("secret")
    derived = hmac.new(str(secret).encode(), b"sekisho.session.v1", hashlib.sha256).digest()
    now = int(time.time())
    token = jwt.encode(
        {
            "claims": {"email": SESSION_EMAIL},
            "iss": "sekisho",
            "aud": realm,
            "typ": "session",
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
        },
        derived,
        algorithm="HS256",
    )
    event = _with_ip(_event("session_list.json"), n)
    event["headers"]["Authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    return event


# The seed's one seminar application (local/kintone_emulator/seed.yaml) is this person's.
SESSION_EMAIL = "hanako@example.com"
PARTNER = "demo-erp"
PARTNER_VIEW = "partner-deals"
PARTNER_HOST = "sekisho1.execute-api.ap-northeast-1.amazonaws.com"


def partner_event(running: Stack, n: int) -> dict[str, Any]:
    from sekisho.partners.sign import partner_key, secret_name, sign_request  # noqa: PLC0415

    name = secret_name(PARTNER)
    key = partner_key(_secret(running, name), name)
    body = json.dumps({"match": {"deal_id": "D000001"}}).encode()
    path = f"/v1/views/{PARTNER_VIEW}"
    signed = sign_request(
        PARTNER, "POST", f"https://{PARTNER_HOST}{path}", body, "application/json", key
    )
    event = _with_ip(_event("lookup_valid.json"), n)
    headers = {
        "Host": PARTNER_HOST,
        "X-Forwarded-Proto": "https",
        "User-Agent": "partner-erp/1.0",
        **signed.headers,
    }
    event.update(
        path=f"/views/{PARTNER_VIEW}",
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        pathParameters={"view": PARTNER_VIEW},
        body=body.decode(),
    )
    event["requestContext"]["path"] = path
    return event


EVENT_BUILDERS: dict[str, Callable[[Stack, int], dict[str, Any]]] = {
    "lookup": lookup_event,
    "intake": intake_event,
    "deliver": deliver_event,
    "webhook": webhook_event,
    "action": action_event,
    "session": session_event,
    "partner": partner_event,
}


# ------------------------------------------------------------------------ measuring


@dataclass(frozen=True)
class Result:
    """One function's figures: medians over the rounds (ratios: medians of each round's)."""

    name: str
    ms: float
    bare_ms: float
    ratio: float
    cpu_ms: float
    bare_cpu_ms: float
    cpu_ratio: float
    rss_mb: float  # the largest of the rounds
    bare_rss_mb: float
    # What the first response spent off the CPU (the network, moto, the emulator): the
    # least of the rounds, since a busy machine only adds waiting for a core to it.
    wait_ms: float = 0.0


def measure(
    running: Stack, names: list[str], rounds: int, progress: Callable[[str], None] = print
) -> list[Result]:
    pairs: dict[str, list[tuple[Child, Child]]] = {name: [] for name in names}
    n = 0
    for round_ in range(rounds):
        for name in names:
            n += 1
            own, bare = running.targets[name], bare_target(name, running)
            # Which of the two meets a moment of the machine first alternates each round.
            order = [(own, "own"), (bare, "bare")]
            if round_ % 2:
                order.reverse()
            got: dict[str, Child] = {}
            for target, which in order:
                got[which] = run_child(target, EVENT_BUILDERS[name](running, n))
                n += 1
            pairs[name].append((got["own"], got["bare"]))
        progress(
            f"  round {round_ + 1}/{rounds}: "
            + ", ".join(
                f"{name} {own.wall * 1000:.0f}/{bare.wall * 1000:.0f} ms"
                for name, (own, bare) in ((n, pairs[n][-1]) for n in names)
            )
        )
    results = []
    for name, rows in pairs.items():
        med = statistics.median
        results.append(
            Result(
                name=name,
                ms=med(a.wall for a, _ in rows) * 1000,
                bare_ms=med(b.wall for _, b in rows) * 1000,
                ratio=med(a.wall / b.wall for a, b in rows),
                cpu_ms=med(a.cpu for a, _ in rows) * 1000,
                bare_cpu_ms=med(b.cpu for _, b in rows) * 1000,
                cpu_ratio=med(a.cpu / b.cpu for a, b in rows),
                rss_mb=max(a.rss_mb for a, _ in rows),
                bare_rss_mb=max(b.rss_mb for _, b in rows),
                wait_ms=max(0.0, min(a.wall - a.cpu for a, _ in rows) * 1000),
            )
        )
    return results


# ------------------------------------------------------------------------ MemorySize


@dataclass(frozen=True)
class Sizing:
    name: str
    cpu_ms: float
    rss_mb: float
    memory_mb: int
    estimated_ms: float


def estimated_first_response(result: Result, memory_mb: int) -> float:
    """CPU time scaled to the share of a vCPU ``memory_mb`` buys, plus the measured wait
    (what a full core here spends on the CPU, a smaller share spends for longer)."""
    return result.cpu_ms * FULL_VCPU_MB / min(memory_mb, FULL_VCPU_MB) + result.wait_ms


def sizing(result: Result) -> Sizing:
    """The smallest of MEMORY_SIZES that meets GOAL_FIRST_RESPONSE_MS with the RSS's
    headroom; the largest when none does."""
    fits = [size for size in MEMORY_SIZES if size >= result.rss_mb * RSS_HEADROOM]
    chosen = next(
        (s for s in fits if estimated_first_response(result, s) <= GOAL_FIRST_RESPONSE_MS),
        fits[-1] if fits else MEMORY_SIZES[-1],
    )
    return Sizing(
        result.name, result.cpu_ms, result.rss_mb, chosen, estimated_first_response(result, chosen)
    )


# ------------------------------------------------------------------------ reporting


def _ok(met: bool) -> str:
    return "ok" if met else "OVER"


def report(results: list[Result], rounds: int) -> list[str]:
    lines = [
        f"first response: a fresh python per answer, {rounds} rounds, sekisho and its bare relay "
        "alternating; medians (ratio: the median of each round's ratio)",
        f"  {'function':<9}{'ms':>9}{'bare ms':>10}{'ratio':>8}  {'goal':<12}"
        f"{'cpu ms':>8}{'bare':>7}{'cpu ratio':>10}   {'peak RSS':>9}  goal",
    ]
    for r in results:
        lines.append(
            f"  {r.name:<9}{r.ms:9.1f}{r.bare_ms:10.1f}{r.ratio:7.2f}x  "
            f"≤{GOAL_RATIO}x {_ok(r.ratio <= GOAL_RATIO):<5}"
            f"{r.cpu_ms:8.1f}{r.bare_cpu_ms:7.1f}{r.cpu_ratio:9.2f}x   "
            f"{r.rss_mb:6.1f} MB  ≤{GOAL_RSS_MB} MB {_ok(r.rss_mb <= GOAL_RSS_MB)}"
        )
    lines += [
        "  ms: from before the exec to the answer read back (interpreter, imports, policy,",
        "  clients, the request against moto and the emulator); cpu: the child's user + sys",
        "  up to its answer, which other work on a shared machine disturbs less",
    ]
    return lines


def sizing_report(sizings: list[Sizing]) -> list[str]:
    lines = [
        f"MemorySize from the first response: the smallest size whose estimate (cpu x "
        f"{FULL_VCPU_MB} / MB + the wait) is ≤ {GOAL_FIRST_RESPONSE_MS} ms, with {RSS_HEADROOM}x "
        "the peak RSS",
        f"  {'function':<9}{'cpu ms':>8}{'RSS MB':>8}{'chosen MB':>11}{'estimated ms':>14}",
    ]
    lines += [
        f"  {s.name:<9}{s.cpu_ms:8.1f}{s.rss_mb:8.1f}{s.memory_mb:11d}{s.estimated_ms:14.0f}"
        for s in sizings
    ]
    return lines


def run_figures(results: list[Result], sizings: list[Sizing]) -> list[Figure]:
    rows = []
    for r in results:
        rows += [
            Figure(f"{r.name}: first response vs bare relay", r.ratio, "x", GOAL_RATIO),
            Figure(f"{r.name}: first response", r.ms, "ms", digits=0),
            Figure(f"{r.name}: first response, bare relay", r.bare_ms, "ms", digits=0),
            Figure(f"{r.name}: first response peak RSS", r.rss_mb, "MB", GOAL_RSS_MB, digits=1),
        ]
    rows += [Figure(f"{s.name}: MemorySize chosen", s.memory_mb, "MB", digits=0) for s in sizings]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="at least 5 for the figures")
    parser.add_argument("--only", nargs="*", choices=list(FUNCTIONS), help="these functions")
    args = parser.parse_args(argv)
    names = args.only or list(FUNCTIONS)
    print(f"first response: starting moto and the emulator; {args.rounds} rounds of {names}")
    with stack() as running:
        results = measure(running, names, args.rounds)
    sizings = [sizing(r) for r in results]
    print("\n".join(report(results, args.rounds)))
    print()
    print("\n".join(sizing_report(sizings)))
    record(*run_figures(results, sizings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
