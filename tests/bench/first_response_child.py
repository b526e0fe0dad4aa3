"""The child of the first-response bench (tests/bench/first_response.py) and its timing.

One script serves sekisho's handler and the bare relay alike: it loads the handler file
(Lambda's init), calls it once with the event and writes the answer back on a pipe of
its own, then its CPU time and peak RSS at the answer. Asked to, it also notes every AWS
call and every kintone request, which tests/integration/test_bare_relays_in_step.py
compares between the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# file (Lambda's init), call it once with the event, write the answer back; then, on a
# second line, its CPU time and peak RSS at the answer. With FIRST_RESPONSE_RECORD set it
# also notes every AWS call and every kintone request (what the in-step test compares).
CHILD = r"""
import sys, os
if os.environ.get("FIRST_RESPONSE_RECORD"):
    calls = []
    import botocore.client, requests.adapters
    import json
    from urllib.parse import parse_qsl, urlsplit
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
    def _asked(request):
        # What the request asks, not the values a fresh receipt or event makes differ:
        # the parameters but the fields (a set), the fields, the body's keys and record's.
        url = urlsplit(request.url)
        params = parse_qsl(url.query)
        body = json.loads(request.body) if request.body else {}
        return json.dumps([
            sorted(p for p in params if not p[0].startswith("fields[")),
            sorted(v for k, v in params if k.startswith("fields[")),
            sorted(body), sorted(body.get("record") or ()), body.get("app"),
        ], ensure_ascii=False)
    def send(self, request, *args, **kwargs):
        calls.append(["kintone", request.method, urlsplit(request.url).path, _asked(request)])
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
import importlib, importlib.util, json, time
# The "same libraries" baseline: the bare relay, after importing what sekisho's function
# loaded of its libraries (Powertools, PyJWT...), so that what is left is sekisho's own.
for name in filter(None, os.environ.get("FIRST_RESPONSE_PRELOAD", "").split(",")):
    try:
        importlib.import_module(name)
    except Exception:
        pass  # a module only its parent package can import: its parent brings it
# SnapStart, as the Lambda runtime runs it: the init with its snapshot_restore_py, the
# before-snapshot hooks; then what a restored container does: the after-restore hooks and
# the first request, timed from the restore.
restored_at = None
if os.environ.get("FIRST_RESPONSE_SNAPSTART"):
    import types
    hooks = {"before": [], "after": []}
    runtime_hooks = types.ModuleType("snapshot_restore_py")
    runtime_hooks.register_before_snapshot = hooks["before"].append
    runtime_hooks.register_after_restore = hooks["after"].append
    sys.modules["snapshot_restore_py"] = runtime_hooks
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
if os.environ.get("FIRST_RESPONSE_SNAPSTART"):
    if not hooks["before"] or not hooks["after"]:
        raise SystemExit("SnapStart on, but the function registered no snapshot hooks")
    for hook in hooks["before"]:
        hook()
    restored_at, restored_cpu = time.perf_counter(), time.process_time()
    clients = sys.modules["sekisho.aws"]._built
    clients_at_restore = len(clients)
    for hook in hooks["after"]:
        hook()
answer = getattr(module, attr)(event, Context())
cpu = time.process_time()
if restored_at is not None:
    restored = {"restored": time.perf_counter() - restored_at, "restored_cpu": cpu - restored_cpu,
                # boto3 clients the restored container's first request had to build itself
                "built_after_restore": [c.meta.service_model.service_name
                                        for c in clients[clients_at_restore:]]}
else:
    restored = {}
out.write("ANSWER " + json.dumps(answer, ensure_ascii=False) + "\n")
out.flush()
with open("/proc/self/status") as status:
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
extra = {"calls": calls} if os.environ.get("FIRST_RESPONSE_RECORD") else {}
extra.update(restored)
if os.environ.get("FIRST_RESPONSE_MODULES"):
    extra["modules"] = sorted(sys.modules)
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
    modules: list[str] = field(default_factory=list)  # sys.modules at the answer, if asked
    # With SnapStart: from the restore (before the after-restore hooks) to the answer.
    restored: float | None = None
    restored_cpu: float | None = None
    built_after_restore: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """What a child runs: a handler file, its attribute, its environment."""

    handler_file: Path
    attr: str
    env: dict[str, str]


def run_child(
    target: Target,
    event: Mapping[str, Any],
    *,
    record_calls: bool = False,
    list_modules: bool = False,
) -> Child:
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as f:
        json.dump(event, f, ensure_ascii=False)
    env = dict(target.env)
    if record_calls:
        env["FIRST_RESPONSE_RECORD"] = "1"
    if list_modules:
        env["FIRST_RESPONSE_MODULES"] = "1"
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
        modules=figures.get("modules", []),
        restored=figures.get("restored"),
        restored_cpu=figures.get("restored_cpu"),
        built_after_restore=figures.get("built_after_restore", []),
    )


def libraries_only(own: Child, bare: Child) -> list[str]:
    """The modules of the libraries sekisho's function uses and the bare relay does not
    use at all (Powertools, PyJWT, the signature library, and what they bring): neither
    sekisho's own nor the standard library's (the libraries import what they need of
    it). A package the bare relay uses too (botocore, requests) is left out whole: what
    more of it sekisho loads is sekisho's choice."""
    used = {name.partition(".")[0] for name in bare.modules}
    return [
        name
        for name in own.modules
        if (top := name.partition(".")[0]) not in used
        and top not in sys.stdlib_module_names
        and top not in {"sekisho", "app", "tests", "__main__"}
    ]
