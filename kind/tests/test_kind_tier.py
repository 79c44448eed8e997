"""The cluster and e2e tiers on real Kind, through the CLI, with the offline node and workload images.

Run after `make kind-images` (`make kind-test`, and .ci/run): every test creates its own Kind cluster with
the node image from kind/versions.yaml and must leave no node container behind.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance import REPO_ROOT

CHARTS = REPO_ROOT / "fixtures" / "charts"
CLI = [sys.executable, "-m", "conformance.cli"]


def kind_nodes() -> set[str]:
    """Names of the Kind node containers of the harness's clusters (`conformance-*`) that exist now."""
    docker = shutil.which("docker")
    assert docker, "no docker CLI: run `make kind-images` (kind/images/engine.sh) first"
    out = subprocess.run([docker, "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster", "--format",
                          "{{.Names}}"], capture_output=True, text=True, check=True, timeout=60).stdout
    return {n for n in out.split() if n.startswith("conformance-")}


@pytest.fixture(autouse=True)
def no_leftover_nodes() -> object:
    """Each test leaves no Kind node container of its own behind, whatever its outcome."""
    before = kind_nodes()
    yield None
    assert kind_nodes() - before == set()


def check(*args: str, reports: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Run `conformance check ... --provider kind` and return the process and findings.json."""
    proc = subprocess.run([*CLI, "check", *args, "--provider", "kind", "--reports", str(reports)],
                          capture_output=True, text=True, timeout=1800, check=False)
    findings = reports / "findings.json"
    return proc, json.loads(findings.read_text()) if findings.is_file() else {}


def assert_real_kind_run(reports: Path) -> None:
    """Every case of the merged junit.xml ran on Kind (`provider=kind`), and nothing was simulated."""
    cases = list(ET.parse(reports / "junit.xml").getroot().iter("testcase"))  # noqa: S314 - our own report
    assert cases, "junit.xml has no test cases"
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props.get("provider") == "kind", (case.get("name"), props)
    assert "simulated" not in (reports / "junit.xml").read_text().lower()


def messages(findings: dict[str, object], rule: str) -> list[str]:
    """The messages of the blocking findings of one rule."""
    items = findings.get("findings", [])
    assert isinstance(items, list)
    return [str(f["message"]) for f in items if f["rule"] == rule and f["severity"] == "error"]


def test_compliant_chart_passes_on_kind(tmp_path: Path) -> None:
    """Install, PSS admission, readiness, upgrade, a real helm test hook (wget to the Service) and rollback."""
    proc, _ = check(str(CHARTS / "compliant"), "--tier", "cluster", reports=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cluster provider kind" in proc.stdout
    junit = (tmp_path / "junit-cluster.xml").read_text()
    assert "test_helm_test_hooks" in junit and "<failure" not in junit
    assert_real_kind_run(tmp_path)


def test_floe_jobs_runs_dbt_against_postgresql_on_kind(tmp_path: Path) -> None:
    """floe-jobs' dbt Job builds the fixture project's table in floe-platform's PostgreSQL; the E2E reads it."""
    proc, _ = check(str(REPO_ROOT / "charts" / "floe-jobs"), "--tier", "cluster,e2e", reports=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    logs = sorted((tmp_path / "logs").glob("*.log"))
    assert logs, "no Job logs kept"
    assert any("Completed successfully" in p.read_text() for p in logs)
    assert "verified" in (tmp_path / "junit-e2e.xml").read_text()
    assert_real_kind_run(tmp_path)


def test_readiness_probe_that_never_passes_fails_on_kind(tmp_path: Path) -> None:
    """A pod whose readiness probe can never pass fails the install with the kubelet's probe message."""
    start = time.monotonic()
    proc, findings = check(str(CHARTS / "kind-bad-readiness"), "--tier", "cluster", reports=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert time.monotonic() - start < 600  # the readiness grace, not SC-001's ten minutes
    found = messages(findings, "cluster-install")
    assert any("Readiness probe failed" in m for m in found), found
    assert list((tmp_path / "kind-logs").glob("*/*")), "kind export logs wrote nothing on failure"


def test_failing_test_hook_fails_on_kind(tmp_path: Path) -> None:
    """A helm test hook that exits 1 fails the cluster tier, with the hook's own log line in the message."""
    proc, findings = check(str(CHARTS / "kind-bad-test-hook"), "--tier", "cluster", reports=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = messages(findings, "cluster-helm-test")
    assert any("this test hook fails on purpose" in m for m in found), found


def test_interrupt_deletes_the_kind_cluster(tmp_path: Path) -> None:
    """Ctrl-C while the cluster tier runs on Kind deletes the node container before the CLI exits."""
    proc = subprocess.Popen([*CLI, "check", str(CHARTS / "compliant"), "--tier", "cluster", "--provider", "kind",
                             "--reports", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 300
    while not kind_nodes() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(1)
    assert kind_nodes(), "no Kind node appeared"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode in (1, 2, 130), out
