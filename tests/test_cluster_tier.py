"""The cluster and e2e tiers end to end through the CLI, on real kwok clusters with the pinned control plane."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import REPO_ROOT
from conformance.cluster.kwok import pid_alive

pytestmark = pytest.mark.xdist_group("cluster-tier")
CHARTS = REPO_ROOT / "fixtures" / "charts"
CLI = [sys.executable, "-m", "conformance.cli"]


def check(*args: str, reports: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Run `conformance check` and return the process and findings.json."""
    proc = subprocess.run([*CLI, "check", *args, "--reports", str(reports)], capture_output=True, text=True,
                          timeout=900, check=False)
    findings = reports / "findings.json"
    return proc, json.loads(findings.read_text()) if findings.is_file() else {}


def rules(findings: dict[str, object]) -> set[str]:
    """The rule IDs of the blocking findings."""
    items = findings.get("findings", [])
    assert isinstance(items, list)
    return {f["rule"] for f in items if f["severity"] == "error" and not f.get("waived")}


def test_compliant_chart_passes_cluster_tier(tmp_path: Path) -> None:
    """Install, PSS admission, readiness, upgrade, helm test and rollback all pass for the compliant chart."""
    proc, findings = check(str(CHARTS / "compliant"), "--tier", "cluster", "--provider", "kwok", reports=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cluster provider kwok" in proc.stdout
    assert rules(findings) == set()
    junit = (tmp_path / "junit-cluster.xml").read_text()
    for name in ("test_install_within_sc001", "test_pod_security_admission", "test_upgrade_keeps_secrets",
                 "test_helm_test_hooks", "test_rollback"):
        assert name in junit


def test_pod_security_rejection_fails_fast(tmp_path: Path) -> None:
    """The API server's PodSecurity admission rejects the bad-pss chart's pods; the tier says so in seconds."""
    start = time.monotonic()
    proc, findings = check(str(CHARTS / "bad-pss"), "--tier", "cluster", "--provider", "kwok", reports=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert time.monotonic() - start < 120  # not the 10-minute SC-001 budget: events are read while waiting
    assert "cluster-install" in rules(findings)
    items = findings["findings"]
    assert isinstance(items, list)
    message = next(f["message"] for f in items if f["rule"] == "cluster-install")
    assert 'violates PodSecurity "restricted' in message
    assert (tmp_path / "cluster" / "cluster-defaults" / "events.txt").is_file()


def _variant(tmp_path: Path, version: str, component: str) -> Path:
    """A copy of the compliant chart with a new version and, optionally, a changed selector label."""
    chart = tmp_path / "compliant"
    shutil.copytree(CHARTS / "compliant", chart)
    meta = chart / "Chart.yaml"
    meta.write_text(meta.read_text().replace("version: 1.2.0", f"version: {version}"))
    helpers = chart / "templates" / "_helpers.tpl"
    helpers.write_text(helpers.read_text().replace("app.kubernetes.io/component: web",
                                                   f"app.kubernetes.io/component: {component}"))
    return chart


def test_upgrade_from_previous_release_catches_selector_change(tmp_path: Path) -> None:
    """--upgrade-from: a new version that changes a Deployment selector fails the upgrade (immutable field)."""
    new = _variant(tmp_path / "src", "1.3.0", "frontend")
    proc, findings = check(str(new), "--tier", "cluster", "--provider", "kwok",
                           "--upgrade-from", str(CHARTS / "compliant"), reports=tmp_path / "r")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cluster-upgrade" in rules(findings)
    items = findings["findings"]
    assert isinstance(items, list)
    assert "field is immutable" in next(f["message"] for f in items if f["rule"] == "cluster-upgrade")


def test_upgrade_from_previous_release_passes_when_compatible(tmp_path: Path) -> None:
    """--upgrade-from with a compatible new version upgrades, tests and rolls back cleanly."""
    new = _variant(tmp_path / "src", "1.3.0", "web")
    proc, findings = check(str(new), "--tier", "cluster", "--provider", "kwok",
                           "--upgrade-from", str(CHARTS / "compliant"), reports=tmp_path / "r")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rules(findings) == set()


def _kwok_pids(root: Path) -> set[int]:
    """Live processes of kwok clusters made under `root` (the run's TMPDIR), so other clusters don't count."""
    out = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if f"{root}/kwok-conformance-" in cmd and pid_alive(int(proc.name)):
                out.add(int(proc.name))
    return out


def test_interrupted_run_deletes_its_cluster(tmp_path: Path) -> None:
    """SIGINT during the cluster tier still writes reports and leaves no kwok process or folder behind."""
    root = tmp_path / "tmp"
    root.mkdir()
    proc = subprocess.Popen([*CLI, "check", str(CHARTS / "compliant"), "--tier", "cluster", "--provider", "kwok",
                             "--reports", str(tmp_path / "r")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, env={**os.environ, "TMPDIR": str(root)})
    deadline = time.monotonic() + 120
    while not _kwok_pids(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _kwok_pids(root), "no kwok cluster came up"
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert not _kwok_pids(root), out
    assert not list(root.glob("kwok-conformance-*/kwok")), out
    assert (tmp_path / "r" / "findings.json").is_file()
