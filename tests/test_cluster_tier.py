"""The cluster and e2e tiers end to end through the CLI, on real kwok clusters with the pinned control plane."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance import REPO_ROOT
from conformance.cluster.kwok import pid_alive

pytestmark = pytest.mark.xdist_group("cluster-tier")
CHARTS = REPO_ROOT / "fixtures" / "charts"
CLI = [sys.executable, "-m", "conformance.cli"]


def check(*args: str, reports: Path, extra: tuple[str, ...] = (), env: dict[str, str] | None = None,
          ) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Run `conformance check` and return the process and findings.json."""
    proc = subprocess.run([*CLI, "check", *args, "--reports", str(reports), *extra], capture_output=True, text=True,
                          timeout=900, check=False, env=env)
    findings = reports / "findings.json"
    return proc, json.loads(findings.read_text()) if findings.is_file() else {}


def rules(findings: dict[str, object]) -> set[str]:
    """The rule IDs of the blocking findings."""
    items = findings.get("findings", [])
    assert isinstance(items, list)
    return {f["rule"] for f in items if f["severity"] == "error" and not f.get("waived")}


def cases(junit: Path) -> dict[str, dict[str, str]]:
    """The properties of every JUnit test case, by case name."""
    root = ET.parse(junit).getroot()
    return {str(tc.get("name")): {str(p.get("name")): str(p.get("value")) for p in tc.iter("property")}
            for tc in root.iter("testcase")}


def timings(reports: Path) -> list[dict[str, object]]:
    """The rows of timings.json."""
    rows = json.loads((reports / "timings.json").read_text())
    assert isinstance(rows, list)
    return rows


ROW_KEYS = {"id", "seconds", "budget", "provider", "kube_version", "chart", "scenario"}


def test_compliant_chart_passes_cluster_tier(tmp_path: Path) -> None:
    """Install, PSS admission, readiness, upgrade, helm test and rollback pass; every case says how it was
    obtained (provider, Kubernetes version) and kwok's simulated checks are marked, not plain passes."""
    proc, findings = check(str(CHARTS / "compliant"), "--tier", "cluster", "--provider", "kwok", reports=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cluster provider kwok: chosen with --provider" in proc.stdout
    assert "upgrade from compliant 1.2.0: the chart itself" in proc.stdout  # no earlier version in git
    assert rules(findings) == set()
    props = cases(tmp_path / "junit-cluster.xml")
    for name in ("test_cluster_start", "test_install_within_sc001[defaults]", "test_pod_security_admission[defaults]",
                 "test_upgrade_from_previous[defaults]", "test_helm_test_hooks[defaults]", "test_rollback[defaults]"):
        assert props[name]["provider"] == "kwok", name
        assert props[name]["kube_version"].startswith("v1.35"), name
    assert props["test_install_within_sc001[defaults]"]["simulated"] == "true"
    assert props["test_helm_test_hooks[defaults]"]["simulated"] == "true"
    assert "simulated" not in props["test_pod_security_admission[defaults]"]  # admission is real on kwok
    assert "simulated" not in props["test_cluster_start"]
    assert "simulated, not proven by this run" in proc.stdout
    rows = timings(tmp_path)
    assert {r["id"] for r in rows} == {"cluster-start", "sc-001", "upgrade", "rollback"}
    for r in rows:
        assert set(r) >= ROW_KEYS, r
        assert r["provider"] == "kwok" and str(r["kube_version"]).startswith("v1.35") and r["chart"] == "compliant"
        assert isinstance(r["seconds"], float) and 0 < r["seconds"] < float(str(r["budget"]))
    sc001 = next(r for r in rows if r["id"] == "sc-001")
    assert sc001["simulated"] is True and sc001["budget"] == 600
    assert props["test_install_within_sc001[defaults]"]["seconds"] == f"{sc001['seconds']:.2f}"


def test_budget_over_fails_with_its_provenance(tmp_path: Path) -> None:
    """A budget the run cannot meet fails the timed test, naming the figure, provider and the option to change."""
    proc, findings = check(str(CHARTS / "compliant"), "--tier", "cluster", "--provider", "kwok",
                           "--budget-rollback", "1", "--budget-sc001", "1", reports=tmp_path,
                           extra=("--pytest-arg=-k", "--pytest-arg=sc001 or cluster_start"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    items = findings["findings"]
    assert isinstance(items, list)
    over = next(f for f in items if f["rule"] == "sc-001-deploy-time")
    assert "over its budget" in over["message"] and "kwok" in over["message"]
    assert "--budget-sc001" in over["remediation"]


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
    dumps = list((tmp_path / "cluster").glob("cluster-bad-pss-defaults-*/events.txt"))
    assert dumps, "no namespace dump"
    assert list(dumps[0].parent.glob("logs/*.log")) or "FailedCreate" in dumps[0].read_text()


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
    message = next(f["message"] for f in items if f["rule"] == "cluster-upgrade")
    assert "field is immutable" in message
    assert "immutable fields changed: Deployment/" in message and "spec.selector" in message


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


BAD_INPUT = [
    pytest.param(("--provider", "kubeconfig", "--kubeconfig", "/nonexistent"), "kubeconfig /nonexistent: no such file",
                 id="kubeconfig-missing"),
    pytest.param(("--provider", "kubeconfig", "--kubeconfig", str(REPO_ROOT / "Makefile")), "kubeconfig",
                 id="kubeconfig-not-yaml"),
    pytest.param(("--provider", "kubeconfig"), "--provider kubeconfig needs --kubeconfig", id="kubeconfig-none"),
    pytest.param(("--provider", "kwok", "--kube-context", "x"), "only used with --provider kubeconfig",
                 id="context-without-kubeconfig"),
    pytest.param(("--provider", "kwok", "--upgrade-from", "/nonexistent"), "--upgrade-from /nonexistent: not a chart",
                 id="upgrade-from-missing"),
    pytest.param(("--provider", "kwok", "--upgrade-from", "git:no-such-ref-anywhere"), "no such commit",
                 id="upgrade-from-bad-ref"),
    pytest.param(("--provider", "kwok", "--upgrade-from", str(REPO_ROOT / "kind")), "no Chart.yaml",
                 id="upgrade-from-not-a-chart"),
]


@pytest.mark.parametrize(("args", "says"), BAD_INPUT)
def test_bad_cluster_input_is_one_line_exit_2(args: tuple[str, ...], says: str, tmp_path: Path) -> None:
    """Bad kubeconfig, context or --upgrade-from: one line naming what and how to fix it, exit 2, nothing made."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    proc, _ = check(str(CHARTS / "compliant"), "--tier", "cluster", *args, reports=tmp_path / "r", env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("conformance: error:") and says in errors[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "r" / "junit-cluster.xml").exists()


def test_auto_never_uses_an_existing_cluster(tmp_path: Path) -> None:
    """KUBECONFIG set: auto still resolves to a cluster the harness creates, and says so before anything runs."""
    env = {**os.environ, "KUBECONFIG": "/nonexistent"}
    proc, _ = check(str(CHARTS / "compliant"), "--tier", "cluster", reports=tmp_path / "r", env=env,
                    extra=("--pytest-arg=--collect-only",))
    assert "cluster provider kubeconfig" not in proc.stdout
    line = next(line for line in proc.stdout.splitlines() if "cluster provider" in line)
    assert line.startswith(("conformance: cluster provider kwok: auto", "conformance: cluster provider kind: auto"))
    assert "only with --provider kubeconfig" in line or "provider kind" in line


def _tiny_statefulset_chart(root: Path, labels: str) -> Path:
    """A one-StatefulSet chart whose volumeClaimTemplates carry `labels` (a Helm template fragment)."""
    chart = root / "db"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: db\nversion: 0.3.0\nappVersion: \"15\"\n")
    (chart / "templates" / "sts.yaml").write_text(f"""apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{{{ .Release.Name }}}}-db
spec:
  serviceName: {{{{ .Release.Name }}}}-db
  selector:
    matchLabels: {{app.kubernetes.io/name: db}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: db}}
    spec:
      containers: [{{name: db, image: "postgres:15"}}]
  volumeClaimTemplates:
    - metadata:
        name: data
        labels: {labels}
      spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
""")
    return chart


@pytest.mark.parametrize("labels", [
    '{app.kubernetes.io/name: db, helm.sh/chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"}',
    '{app.kubernetes.io/name: db, app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}}',
    '{app.kubernetes.io/name: db, revision: "{{ .Release.Revision }}"}',
])
def test_render_tier_names_release_varying_volume_claim_templates(labels: str, tmp_path: Path) -> None:
    """Labels that vary per release inside volumeClaimTemplates fail the render tier, before any install."""
    chart = _tiny_statefulset_chart(tmp_path, labels)
    proc, findings = check(str(chart), "--tier", "render", reports=tmp_path / "r")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    items = findings["findings"]
    assert isinstance(items, list)
    hits = [f for f in items if f["rule"] == "immutable-fields-stable"]
    assert hits and all(f["check"] == "volumeClaimTemplates" for f in hits), items
    assert "spec.volumeClaimTemplates[0].metadata.labels" in hits[0]["path"]


def test_render_tier_passes_stable_volume_claim_templates(tmp_path: Path) -> None:
    """The control: selector labels only in volumeClaimTemplates give no immutable-fields finding."""
    chart = _tiny_statefulset_chart(tmp_path, "{app.kubernetes.io/name: db}")
    _, findings = check(str(chart), "--tier", "render", reports=tmp_path / "r")
    items = findings["findings"]
    assert isinstance(items, list)
    assert [f for f in items if f["rule"] == "immutable-fields-stable"] == []


def test_next_floe_platform_release_upgrades_from_this_one(tmp_path: Path) -> None:
    """A copy of floe-platform with its version bumped upgrades from charts/floe-platform on kwok, in every
    environment scenario; timings.json holds its SC-001 rows with their provenance."""
    new = tmp_path / "floe-platform"
    shutil.copytree(REPO_ROOT / "charts" / "floe-platform", new)
    meta = new / "Chart.yaml"
    meta.write_text(meta.read_text().replace("version: 0.2.0", "version: 0.2.1"))
    proc, findings = check(str(new), "--tier", "cluster", "--provider", "kwok",
                           "--upgrade-from", str(REPO_ROOT / "charts" / "floe-platform"), reports=tmp_path / "r")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert rules(findings) == set()
    rows = timings(tmp_path / "r")
    sc001 = {str(r["scenario"]) for r in rows if r["id"] == "sc-001"}
    assert sc001 == {"defaults", "values-dev", "values-prod", "values-staging", "values-test"} or \
        {"defaults", "values-dev", "values-prod"} <= sc001, sc001
    ups = [r for r in rows if r["id"] == "upgrade"]
    assert len(ups) == len(sc001) and all(r["chart"] == "floe-platform" and r["provider"] == "kwok" for r in ups)


def test_floe_jobs_e2e_times_sc002_with_provenance(tmp_path: Path) -> None:
    """floe-jobs' Job launches within SC-002; the rows are sub-second figures, marked simulated on kwok."""
    proc, _ = check(str(REPO_ROOT / "charts" / "floe-jobs"), "--tier", "e2e", "--provider", "kwok",
                    reports=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [r for r in timings(tmp_path) if r["id"] == "sc-002"]
    assert {str(r["scenario"]) for r in rows} == {"Job/conformance-floe-jobs-run-1"}  # the CronJob is off by default
    for r in rows:
        assert set(r) >= ROW_KEYS and r["provider"] == "kwok" and r["simulated"] is True
        assert r["budget"] == 30 and 0 <= float(str(r["seconds"])) < 30
    props = cases(tmp_path / "junit-e2e.xml")
    assert all(p.get("simulated") == "true" and p.get("provider") == "kwok" for p in props.values())
