"""The Grafana dashboard and the Prometheus alert rules in deploy/monitoring: valid, tested, and true to the server.

``promtool`` (Debian's ``prometheus`` package, which ``.ci/run`` installs)
checks the rules and every dashboard query as PromQL, and runs the alerts'
unit tests (deploy/monitoring/alerts_test.yaml: each alert fires on the
series it is for and stays quiet on a healthy server's). Every metric the
files name, and every label they match on, is read from a real server's live
``/metrics`` after real calls: renaming a metric without the files fails here.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.adk.events.event import Event
from prometheus_client.parser import text_string_to_metric_families

from adk_grpc_sessions.client import GrpcSessionService
from tests.server_process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is missing (Debian package prometheus; .ci/run installs it)"
)

_METRIC = re.compile(r"\b(adk_grpc_sessions_[a-z_]+)\b(?:\{([^}]*)\})?")
_MATCHER = re.compile(r'([a-z_]+)\s*(?:=~|!~|!=|=)\s*"')
_ADDED_BY_PROMETHEUS = {"instance", "job"}
"""Labels Prometheus puts on every scraped series: not the server's."""


def _alert_expressions() -> dict[str, str]:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    return dashboard


def _dashboard_expressions() -> dict[str, str]:
    """Each query of the dashboard, by panel title and query id, with Grafana's variables as Prometheus sees them."""
    found = {
        f"{panel['title']} {target['refId']}": target["expr"]
        for panel in _dashboard()["panels"]
        for target in panel.get("targets", [])
    }
    for variable in _dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            found[f"variable {variable['name']}"] = variable["definition"]
    return {
        name: expr.replace("$__rate_interval", "5m").replace("$instance", ".*")
        for name, expr in found.items()
    }


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False)


@needs_promtool
def test_the_alert_rules_are_valid_prometheus_rules() -> None:
    checked = _promtool("check", "rules", str(MONITORING / "alerts.yaml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout


@needs_promtool
def test_each_alert_fires_on_its_condition_and_not_on_a_healthy_server() -> None:
    tested = _promtool("test", "rules", str(MONITORING / "alerts_test.yaml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    unit_tests = yaml.safe_load((MONITORING / "alerts_test.yaml").read_text())["tests"]
    covered = {case["alertname"] for test in unit_tests for case in test["alert_rule_test"]}
    assert covered == set(_alert_expressions()), "every alert has a unit test"


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """Each query, as a recording rule that promtool parses (label_values is Grafana's, not PromQL)."""
    queries = {
        name: expr for name, expr in _dashboard_expressions().items() if not name.startswith("variable ")
    }
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{n}", "expr": e} for n, e in enumerate(queries.values())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(rules))
    checked = _promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(queries)} rules found" in checked.stdout


def test_the_dashboard_is_a_grafana_dashboard_with_queries_on_every_panel() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"], f"panel {panel['title']!r} has no query"
            assert panel["datasource"]["uid"] == "${datasource}", "panels use the dashboard's data source"
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "instance"}


async def _scrape(address: str) -> dict[str, set[str]]:
    """Each sample name of ``http://address/metrics``, with the label names its samples carry."""
    body = await asyncio.to_thread(
        lambda: urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    )
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


async def test_every_metric_and_label_the_files_name_is_one_a_live_server_exports(app_name: str) -> None:
    server = await ServerProcess(
        [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--backend",
            "memory://",
            "--purge-interval",
            "0.1",
        ]
    ).start()
    try:
        address, metrics = await server.address(), await server.metrics_address()
        # Calls of every kind the files look at: streamed appends (the client's default),
        # batched ones (concurrent appends without the stream), reads, a listing.
        async with GrpcSessionService(address) as streaming:
            session = await streaming.create_session(app_name=app_name, user_id="u1")
            await streaming.append_event(session, Event(author="user"))
            await streaming.get_session(app_name=app_name, user_id="u1", session_id=session.id)
            await streaming.list_sessions(app_name=app_name, user_id="u1")
        async with GrpcSessionService(address, stream_appends=False) as batching:
            sessions = [await batching.create_session(app_name=app_name, user_id=f"b{i}") for i in range(4)]
            await asyncio.gather(*(batching.append_event(s, Event(author="user")) for s in sessions))

        async def sweeper_ran() -> dict[str, set[str]]:
            while True:
                exported = await _scrape(metrics)
                if any(name.startswith("adk_grpc_sessions_batched_appends") for name in exported):
                    return exported
                await asyncio.sleep(0.1)

        exported = await asyncio.wait_for(sweeper_ran(), timeout=30)
    finally:
        assert await server.stop() == 0, server.stderr

    named = {**_alert_expressions(), **_dashboard_expressions()}
    for where, expr in named.items():
        for metric, selector in _METRIC.findall(expr):
            assert metric in exported, f"{where}: {metric} is not exported (exported: {sorted(exported)})"
            for label in _MATCHER.findall(selector):
                if label not in _ADDED_BY_PROMETHEUS:
                    assert label in exported[metric], f"{where}: {metric} has no label {label!r}"
