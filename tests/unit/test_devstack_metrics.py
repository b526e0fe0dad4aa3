"""`make metrics`: the workers keep their EMF lines, and the command adds them up as
CloudWatch would (per metric and dimension values: count, sum, max)."""

from __future__ import annotations

import io
from contextlib import ExitStack

import pytest

from devstack import emf_log
from devstack.cli import run
from devstack.metrics_report import summarise, table
from devstack.stack import _metrics_log
from sekisho import metrics
from sekisho.metrics import emf

LOG_LINE = '{"level":"INFO","message":"request refused","service":"sekisho"}'


def printed(capsys: pytest.CaptureFixture[str], *writes: object) -> list[str]:
    """The EMF lines the metrics functions print, as a worker's stdout carries them."""
    capsys.readouterr()
    for write in writes:
        assert callable(write)
        write()
    return capsys.readouterr().out.splitlines()


def test_requests_are_counted_per_route_and_outcome(capsys):
    lines = printed(
        capsys,
        lambda: emf.request("view:deal-status", metrics.OK),
        lambda: emf.request("view:deal-status", metrics.OK),
        lambda: emf.request("view:deal-status", metrics.REFUSED),
        lambda: emf.refusal("view:deal-status", "rate_limited"),
    )
    found = {(s.name, s.dimensions): s for s in summarise([LOG_LINE, *lines])}
    ok = found[
        "Requests", (("service", "sekisho"), ("route", "view:deal-status"), ("outcome", "ok"))
    ]
    assert (ok.unit, ok.count, ok.total, ok.maximum) == ("Count", 2, 2.0, 1.0)
    assert len(found) == 3


def test_latencies_add_up_to_their_count_sum_and_maximum(capsys):
    lines = printed(
        capsys,
        lambda: emf.kintone_latency("form:seminar-apply", 12.5),
        lambda: emf.kintone_latency("form:seminar-apply", 30.0),
        lambda: emf.queue_age("intake", 4.0),
    )
    latency, age = summarise(lines)
    assert (latency.name, latency.count, latency.total, latency.maximum) == (
        "KintoneLatency",
        2,
        42.5,
        30.0,
    )
    assert (age.name, age.unit, age.dimensions) == (
        "QueueAge",
        "Seconds",
        (("service", "sekisho"), ("queue", "intake")),
    )


def test_the_table_shows_each_series_without_the_service_dimension(capsys):
    lines = printed(
        capsys,
        lambda: emf.delivery("form:seminar-apply", metrics.RECORDED),
        lambda: emf.kintone_latency("view:deal-status", 2.25),
        lambda: metrics.route_budget_nearly_spent("view:deal-status", spent=8, limit=10),
    )
    rendered = table(summarise(lines)).splitlines()
    assert rendered[0].split() == ["metric", "dimensions", "unit", "count", "sum", "max"]
    assert rendered[1].split() == [
        "Deliveries",
        "route=form:seminar-apply",
        "outcome=recorded",
        "Count",
        "1",
        "1",
        "1",
    ]
    assert rendered[2].split()[-3:] == ["1", "2.2", "2.2"]
    assert rendered[3].split()[:2] == ["RouteBudgetNearlySpent", "-"]
    assert "service=" not in "\n".join(rendered)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "not json",
        '{"_aws": 1}',
        '{"_aws": {"CloudWatchMetrics": "x"}}',
        '{"_aws": {"CloudWatchMetrics": ["x", {"Metrics": [3]}]}}',
        "[1, 2]",
        LOG_LINE,
    ],
)
def test_a_line_that_is_no_emf_document_is_skipped(line):
    assert summarise([line]) == []


def test_the_tee_passes_everything_through_and_keeps_only_whole_emf_lines(tmp_path, capsys):
    (line,) = printed(capsys, lambda: emf.request("webhook:demo-stripe", metrics.OK))
    stream = io.StringIO()
    tee = emf_log.EmfTee(stream, tmp_path / emf_log.FILE_NAME)
    # print() writes the text and its newline apart; a logger writes both at once.
    tee.write(line)
    assert list(emf_log.lines(tmp_path / emf_log.FILE_NAME)) == []
    tee.write("\n")
    tee.write(LOG_LINE + "\n")
    tee.write(line + "\n" + LOG_LINE + "\n")
    assert stream.getvalue() == f"{line}\n{LOG_LINE}\n{line}\n{LOG_LINE}\n"
    assert list(emf_log.lines(tmp_path / emf_log.FILE_NAME)) == [line + "\n"] * 2


def test_each_start_of_the_stack_begins_with_no_metrics(tmp_path):
    (tmp_path / emf_log.FILE_NAME).write_text('{"_aws": {}}\n', encoding="utf-8")
    with ExitStack() as cleanup:
        path = _metrics_log(tmp_path, cleanup)
    assert path == tmp_path / emf_log.FILE_NAME
    assert path.read_text(encoding="utf-8") == ""


def test_make_metrics_prints_the_table_of_a_running_stack(tmp_path, capsys):
    lines = printed(capsys, lambda: emf.request("form:seminar-apply", metrics.FAILED))
    (tmp_path / emf_log.FILE_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(["metrics", "--state-dir", str(tmp_path)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("namespace sekisho, since the stack started")
    assert shown[2].split()[:3] == ["Requests", "route=form:seminar-apply", "outcome=failed"]


def test_make_metrics_without_a_stack_says_so(tmp_path, capsys):
    assert run(["metrics", "--state-dir", str(tmp_path / "none")]) == 1
    assert "is make dev running?" in capsys.readouterr().err
