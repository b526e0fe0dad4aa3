"""The terminal side of `make dev`: options, the how-to banner, and a clean stop on signals;
and the commands that look into or talk to a running stack: `queues`, `webhooks`, `mail`,
`send`, and for rotation `env`, `kintone-token` and `retire-token`
(devstack.rotation_commands)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import requests
from botocore.exceptions import BotoCoreError, ClientError

from kintone_emulator.__main__ import is_loopback
from sekisho.policy import PolicyError
from sekisho.policy.validation.arguments import read_policy_or_report
from sekisho.policy.validation.loader import read_policy

from . import commands
from .aws import moto_client
from .errors import DevstackError
from .kintone_webhooks import read_secret
from .mailbox import MailboxError, render, sent_messages, summary
from .metrics_report import add_metrics_command
from .operator_env import AWS_IDENTITY_VARIABLES
from .provision import local_secret_name
from .queue_report import queue_report
from .rotation_commands import COMMANDS as ROTATION
from .rotation_commands import add_rotation_commands, banner_lines
from .routing import RouteTable
from .send import DEMO_SEMINAR_RECEIPT, STRIPE_DEMOS, send
from .stack import RunningStack, start
from .switch_command import flip, parameter_name, switched_off
from .webhook_report import WEBHOOK_QUEUE, queue_name, webhook_report

# Workers per routed function for `make dev`: on two cores, four keep both busy while
# each worker waits on moto and kintone (`python -m tests.bench.load` measures it; two
# serve about 10 % less). `devstack.start()` keeps one unless asked: a test's stack
# starts in half the time, and some tests count what the one warm worker did.
DEFAULT_WORKERS = 4
# The commands whose parser names their handler (set_defaults(handler=...)).
HANDLED = ("mail", "metrics", *ROTATION)
DEMO_METHOD, DEMO_PATH = "POST", "/views/deal-status"
DEMO_BODY = '{"match": {"owner_id": "A1", "deal_id": "D000001"}}'
FORM_METHOD, FORM_PATH = "POST", "/forms/seminar-apply"
FORM_BODY = '{"fields": {"name": "山田 花子", "email": "hanako@example.com", "seats": 2}}'
TLS_TRY_PATH = "/forms/seminar-apply"
# `make dev`'s run files (the test CA): under build/, which git ignores.
STATE_DIR = Path("build") / "devstack"


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description=(
            "Run template.yaml's API on loopback with moto as AWS and the kintone emulator "
            "as kintone. Ports also come from SEKISHO_PORT, SEKISHO_TLS_PORT, MOTO_PORT and "
            "KINTONE_PORT."
        ),
    )
    env = os.environ.get
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=env("SEKISHO_PORT", "3000"),
        help="router port (default: $SEKISHO_PORT or 3000)",
    )
    parser.add_argument(
        "--tls-port",
        type=int,
        default=env("SEKISHO_TLS_PORT", "3443"),
        help=(
            "the router's HTTPS port, a client certificate of the test CA required "
            "(default: $SEKISHO_TLS_PORT or 3443)"
        ),
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the test CA and its certificates are written (default: REPO/build/devstack)",
    )
    parser.add_argument(
        "--moto-port",
        type=int,
        default=env("MOTO_PORT", "5000"),
        help="moto port (default: $MOTO_PORT or 5000)",
    )
    parser.add_argument(
        "--kintone-port",
        type=int,
        default=env("KINTONE_PORT", "9100"),
        help="emulator port (default: $KINTONE_PORT or 9100)",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=DEFAULT_WORKERS,
        help=f"worker processes per routed function (default: {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--repo-root",
        type=Path,
        default=Path(),
        help="the repository (default: the current directory)",
    )
    parser.add_argument("--template", type=Path, help="SAM template (default: REPO/template.yaml)")
    parser.add_argument("--policy", type=Path, help="policy file (default: REPO/policy.yaml)")
    parser.add_argument(
        "--param",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter, e.g. KintoneBaseUrl=https://example.cybozu.com",
    )  # fmt: skip
    commands = parser.add_subparsers(
        dest="command",
        metavar="{"
        + ",".join(("queues", "webhooks", "mail", "metrics", "send", "switch", *ROTATION))
        + "}",
    )
    queues = commands.add_parser(
        "queues",
        help="show a running stack's queues: counts, and the dead letters' receipts",
        description=(
            "Each queue's visible and in-flight counts, and the receipt of every message in "
            "a dead-letter queue (never a message body)."
        ),
    )
    _moto_options(queues)
    webhooks = commands.add_parser(
        "webhooks",
        help="show the verified webhook events waiting on the local WebhookQueue",
        description=(
            "Every event on WebhookQueue and its dead-letter queue: source, scheme, event "
            "type, dedupe key, and the body (or kintone's refetched record). Nothing is "
            "deleted, but every look counts as a receive."
        ),
    )
    _moto_options(webhooks)
    webhooks.add_argument(
        "--template",
        type=Path,
        default=Path("template.yaml"),
        help="the template that names the queue (default: %(default)s)",
    )
    webhooks.add_argument("--queue", help=f"the queue's name (default: {WEBHOOK_QUEUE}'s name)")
    mail = commands.add_parser(
        "mail",
        help="print the mail a running stack has sent (moto's SES), oldest first",
        description=(
            "Every message moto's SES accepted, newest last: To:, Subject:, a blank line and "
            "the text body (a sign-in code is on a line of its own). Nothing is delivered "
            "anywhere."
        ),
    )
    _moto_options(mail)
    mail.set_defaults(handler=lambda args: show_mail(args.host, args.moto_port))
    switch = commands.add_parser(
        "switch",
        help="switch a route of a running stack off or on (the kill switch), or list them",
        description=(
            "Changes the template's RouteSwitchesParameter in the local SSM, as `aws ssm "
            "put-parameter` does on AWS. The functions re-read it at most every 30 s: the "
            "route answers 503 route_disabled within a minute, without a restart."
        ),
    )
    _moto_options(switch)
    switch.add_argument("state", nargs="?", choices=("off", "on"), help="off or on")
    switch.add_argument("route", nargs="?", help="views/<name>, forms/<name> or webhooks/<name>")
    switch.add_argument(
        "--template",
        type=Path,
        default=Path("template.yaml"),
        help="the template that names the parameter (default: %(default)s)",
    )
    sender = commands.add_parser(
        "send",
        help="sign a demo delivery with a source's local secret and POST it to the router",
        description=(
            "Reads the source's scheme from the policy and its secret from the local "
            "Secrets Manager, signs a demo payload (or --body) as that sender would and "
            "POSTs it to /webhooks/SOURCE. Sending the same --event-id again is a "
            "redelivery. A Stripe source's demo event is a Checkout Session event for the "
            "seminar application --receipt names: paid at once, or a delayed payment's "
            "steps (--stripe)."
        ),
    )
    sender.add_argument("source", help="a source of the policy's webhooks: section")
    sender.add_argument("--body", type=Path, metavar="FILE", help="send these exact bytes")
    sender.add_argument(
        "--event-id", metavar="ID", help="the sender's event id (default: a fresh one)"
    )
    sender.add_argument(
        "--receipt",
        metavar="受付ID",
        help=(
            "a Stripe source's demo payment (checkout.session.completed) pays this seminar "
            "application, e.g. the receipt a form submission returned (default: the seed's "
            f"{DEMO_SEMINAR_RECEIPT})"
        ),
    )
    sender.add_argument(
        "--stripe",
        choices=list(STRIPE_DEMOS),
        metavar="STEP",
        help=(
            "a Stripe source's demo event: paid (checkout.session.completed, paid by card; "
            "the default), unpaid (completed while a konbini or bank payment is pending), "
            "succeeded or failed (checkout.session.async_payment_succeeded / _failed)"
        ),
    )
    sender.add_argument(
        "--session",
        metavar="cs_...",
        help="the Checkout Session a Stripe demo event is about; one payment's steps share it",
    )
    sender.add_argument(
        "--age",
        type=int,
        default=0,
        metavar="SECONDS",
        help="sign as if sent this long ago (negative: in the future); default 0",
    )
    sender.add_argument(
        "--policy",
        type=Path,
        default=Path("policy.yaml"),
        help="the policy naming the source (default: %(default)s)",
    )
    _moto_options(sender)
    sender.add_argument(
        "--port",
        type=int,
        default=env("SEKISHO_PORT", "3000"),
        help="the router's port (default: $SEKISHO_PORT or 3000)",
    )
    add_metrics_command(commands)
    add_rotation_commands(commands)
    return parser


def _moto_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--host", default="127.0.0.1", help="the stack's address (default: %(default)s)"
    )
    command.add_argument(
        "--moto-port",
        type=int,
        default=os.environ.get("MOTO_PORT", "5000"),
        help="moto's port (default: $MOTO_PORT or 5000)",
    )


def tls_lines(stack: RunningStack) -> list[str]:
    """Where the HTTPS listener is, and the files a client needs to reach it (paths only:
    the keys are throwaway, still never printed)."""
    if stack.tls_url is None or stack.pki is None:
        return []
    pki = stack.pki
    lines = [
        f"  HTTPS, mutual TLS  {stack.tls_url}/  (a client certificate of the test CA)",
        f"    test CA          {pki.ca_cert}",
    ]
    lines += [
        f"    {client.name:<16} {client.cert} (key {client.key.name})"
        for client in pki.clients.values()
    ]
    if pki.clients:
        client = next(iter(pki.clients.values()))
        lines.append(
            f"    curl -s --cacert {pki.ca_cert} --cert {client.cert} --key {client.key} "
            f"{stack.tls_url}{TLS_TRY_PATH}"
        )
    return lines


def _queue_line(stack: RunningStack, name: str) -> str:
    pumped = [source for source in stack.sqs_sources if source.queue_name == name]
    return f"    {name}" + "".join(
        f" -> {source.function} (batches of up to {source.batch_size}, "
        f"{source.concurrency} at a time)"
        for source in pumped
    )


def banner(stack: RunningStack) -> str:
    lines = [
        "sekisho local stack",
        f"  API and demo pages {stack.router_url}/",
        *tls_lines(stack),
        f"  kintone emulator   {stack.kintone.url}",
        f"  moto (AWS)         {stack.moto_url}  (credentials testing/testing, ap-northeast-1)",
        "  routes:",
        *(f"    {route.method:<7} {route.path:<28} -> {route.function}" for route in stack.routes),
    ]
    if stack.queues:
        lines += ["  queues:", *(_queue_line(stack, queue.name) for queue in stack.queues)]
    lines += [
        "  tables:  " + (", ".join(stack.tables) or "none"),
        "  buckets: " + (", ".join(stack.buckets) or "none"),
        # Names only: a value, even a demo one, never reaches a terminal or a log.
        "  secrets: " + (", ".join(stack.secret_names) or "none"),
    ]
    if stack.webhook_sources:
        lines.append("  webhook sources: " + ", ".join(stack.webhook_sources))
    # The URL the emulator posts to holds the token: only where it comes from is shown.
    lines += [f"  kintone webhooks: {hook.describe()}" for hook in stack.kintone_webhooks]
    if stack.mail is not None:
        lines.append(
            f"  mail (moto's SES): from {stack.mail.from_address}, identity "
            f"{stack.mail.identity}; nothing leaves this machine"
        )
    table = RouteTable(stack.routes)
    tries = [
        f"    curl -s -X {method} {stack.router_url}{path} "
        f"-H 'content-type: application/json' -d '{body}'"
        for method, path, body in (
            (DEMO_METHOD, DEMO_PATH, DEMO_BODY),
            (FORM_METHOD, FORM_PATH, FORM_BODY),
        )
        if table.match(method, path) is not None
    ]
    if stack.queues:
        port = stack.moto_url.rsplit(":", 1)[1]
        tries.append(f"    {commands.devstack()} queues --moto-port {port}")
    if stack.mail is not None:
        port = stack.moto_url.rsplit(":", 1)[1]
        tries.append(f"    {commands.devstack()} mail --moto-port {port}")
    if stack.webhook_sources:
        moto_port = stack.moto_url.rsplit(":", 1)[1]
        router_port = stack.router_url.rsplit(":", 1)[1]
        tries += [
            f"    {commands.devstack()} send {stack.webhook_sources[0]} --port {router_port} "
            f"--moto-port {moto_port}",
            f"    {commands.devstack()} webhooks --moto-port {moto_port}",
        ]
    if tries:
        lines += ["  try:", *tries]
    lines += banner_lines(stack)
    lines.append("  stop with Ctrl-C")
    return "\n".join(lines)


def _isolate_from_real_aws() -> None:
    for name in AWS_IDENTITY_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def show_queues(host: str, moto_port: int) -> int:
    url = _url(host, moto_port)
    try:
        print(queue_report(moto_client(url, "sqs")))
    except (BotoCoreError, ClientError) as exc:
        print(f"cannot read the queues at {url} (is the stack running?): {exc}", file=sys.stderr)
        return 1
    return 0


def show_webhooks(host: str, moto_port: int, template: Path, queue: str | None) -> int:
    url = _url(host, moto_port)
    try:
        name = queue or queue_name(template)
    except DevstackError as exc:
        print(f"cannot tell which queue to read: {exc} (name it with --queue)", file=sys.stderr)
        return 1
    try:
        print(webhook_report(moto_client(url, "sqs"), name))
    except (BotoCoreError, ClientError) as exc:
        print(f"cannot read {name} at {url} (is the stack running?): {exc}", file=sys.stderr)
        return 1
    return 0


def show_mail(host: str, moto_port: int) -> int:
    try:
        messages = sent_messages(_url(host, moto_port))
        print(render(messages))
        if messages:
            print(f"\n{summary(messages)}")
    except MailboxError as exc:
        print(f"cannot read the sent mail: {exc}", file=sys.stderr)
        return 1
    return 0


def switch_route(args: argparse.Namespace) -> int:
    if (args.state is None) != (args.route is None):
        print("usage: python -m devstack switch [off|on ROUTE]", file=sys.stderr)
        return 2
    url = _url(args.host, args.moto_port)
    try:
        name = parameter_name(args.template)
        ssm = moto_client(url, "ssm")
        if args.state is None:
            routes = switched_off(ssm, name)
        else:
            routes = flip(ssm, name, args.route, on=args.state == "on")
    except (DevstackError, ValueError) as exc:
        print(f"cannot switch: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"cannot read {name} at {url} (is the stack running?): {exc}", file=sys.stderr)
        return 1
    print("switched off: " + (", ".join(sorted(routes)) or "none"))
    if args.state is not None:
        print("the functions see it within 30 s")
    return 0


def send_delivery(args: argparse.Namespace) -> int:
    try:
        hook = read_policy(args.policy).webhooks.get(args.source)
    except PolicyError as exc:
        print(f"cannot read the policy: {exc}", file=sys.stderr)
        return 1
    if hook is None:
        print(f"{args.policy} declares no webhook source {args.source!r}", file=sys.stderr)
        return 2
    # Sending a body that does not say what was asked for would look like paying it.
    stripe_options = [
        f"--{name}" for name in ("receipt", "stripe", "session") if getattr(args, name) is not None
    ]
    if stripe_options and hook.scheme != "stripe":
        print(
            f"{stripe_options[0]} goes into a demo Stripe event; {args.source} is a "
            f"{hook.scheme} source",
            file=sys.stderr,
        )
        return 2
    if stripe_options and args.body is not None:
        print(
            f"{stripe_options[0]} goes into the demo body; --body is sent as it is",
            file=sys.stderr,
        )
        return 2
    try:
        body = args.body.read_bytes() if args.body is not None else None
    except OSError as exc:
        print(f"cannot read {args.body}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    moto_url = _url(args.host, args.moto_port)
    try:
        secret = read_secret(
            moto_client(moto_url, "secretsmanager"), local_secret_name(hook.secret)
        )
    except DevstackError as exc:
        print(f"{exc}; is the stack running with moto at {moto_url}?", file=sys.stderr)
        return 1
    router_url = _url(args.host, args.port)
    try:
        sent = send(
            router_url,
            args.source,
            hook,
            secret,
            now=int(time.time()) - args.age,
            body=body,
            event_id=args.event_id,
            receipt=DEMO_SEMINAR_RECEIPT if args.receipt is None else args.receipt,
            stripe=args.stripe or "paid",
            session_id=args.session,
        )
    except requests.RequestException as exc:
        # Not the error's text: it repeats the URL, and kintone's URL holds the token.
        print(
            f"cannot reach the router at {router_url} ({type(exc).__name__}): "
            "is the stack running?",
            file=sys.stderr,
        )
        return 1
    print(f"POST {sent.path} ({hook.scheme}, event id {sent.event_id}) -> {sent.status}")
    if "Retry-After" in sent.headers:
        print(f"Retry-After: {sent.headers['Retry-After']}")
    print(sent.answer_text())
    return 0 if 200 <= sent.status < 300 else 1


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is not None:
        if not is_loopback(args.host):
            print(f"refusing {args.host}: the local stack serves loopback only", file=sys.stderr)
            return 2
        _isolate_from_real_aws()
        if args.command in HANDLED:
            return int(args.handler(args))
        if args.command == "queues":
            return show_queues(args.host, args.moto_port)
        if args.command == "webhooks":
            return show_webhooks(args.host, args.moto_port, args.template, args.queue)
        if args.command == "switch":
            return switch_route(args)
        return send_delivery(args)
    if not is_loopback(args.host):
        # moto would hand the demo secrets to anyone who can reach it.
        print(
            f"refusing to bind {args.host}: the local stack serves loopback only", file=sys.stderr
        )
        return 2
    # A policy that does not validate starts nothing (every route would answer 502): its
    # errors are printed as `sekisho check` prints them, and `make build` would refuse it.
    policy_path = args.policy if args.policy is not None else args.repo_root / "policy.yaml"
    if read_policy_or_report(str(policy_path), sys.stderr) is None:
        print(f"refusing to start: {policy_path} does not validate", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    _isolate_from_real_aws()

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            stack = start(
                repo_root=args.repo_root,
                host=args.host,
                router_port=args.port,
                moto_port=args.moto_port,
                kintone_port=args.kintone_port,
                template=args.template,
                policy=args.policy,
                workers=args.workers,
                parameters=dict(args.param),
                tls_port=args.tls_port,
                state_dir=args.state_dir or args.repo_root / STATE_DIR,
            )
        except (DevstackError, OSError) as exc:
            print(f"cannot start the local stack: {exc}", file=sys.stderr)
            return 1
        with stack:
            os.environ.update(
                AWS_ENDPOINT_URL=stack.moto_url,
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's fake credentials
            )
            print(banner(stack), flush=True)
            # A timeout keeps the main thread responsive to signals on every platform.
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
