"""The local stack defers an import only at a process's boundary, and says why."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.import_graph import imports

DEVSTACK = Path(__file__).resolve().parents[2] / "local" / "devstack"

# (module, what it imports inside a function): why there.
DEFERRED = {
    # Spawned workers re-import the main module: the command line's code stays out of them.
    ("devstack.__main__", "devstack.cli"),
    # Only moto's own process loads moto (and werkzeug, and the SQS fit of moto).
    ("devstack.moto_process", "moto"),
    ("devstack.moto_process", "werkzeug"),
    ("devstack.moto_process", "devstack.moto_sqs"),
    ("devstack.moto_process", "devstack.moto_dynamodb"),
    # Every worker imports the profiling switch; the profiler loads only when it is on.
    ("devstack.profiling", "cProfile"),
    ("devstack.profiling", "pstats"),
    # A worker refuses what the layer does not ship only when told to (at its start).
    ("devstack.worker", "devstack.layer_modules"),
    # Reading a distribution's requirements is the stack's job, never a worker's.
    ("devstack.layer_modules", "packaging"),
}


def _top(target: str) -> str:
    return target if target.startswith("devstack") else target.split(".", maxsplit=1)[0]


def test_the_local_stack_defers_imports_only_at_the_listed_process_boundaries():
    deferred = {(i.importer, _top(i.target)) for i in imports(DEVSTACK) if i.in_function}
    assert deferred == DEFERRED


def test_the_devstack_package_imports_nothing_and_re_exports_nothing():
    tree = ast.parse((DEVSTACK / "__init__.py").read_text(encoding="utf-8"))
    assert [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)] == []
    assert [n for n in tree.body if isinstance(n, ast.FunctionDef)] == []
