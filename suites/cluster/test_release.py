"""Tier cluster: the chart installs within SC-001 on a namespace enforcing PSS restricted, every workload
becomes ready, admission rejects nothing, upgrades keep generated secrets, `helm test` passes, and a
rollback restores the first revision. Runs on kwok here, Kind or any kubeconfig elsewhere."""

from __future__ import annotations

import pytest

from conformance.cluster.timeouts import WaitTimeout, wait_for
from conformance.clusterfixtures import Installed
from conformance.flows.helm_release import FlowError
from conformance.flows.inspect import hook_logs, pending_workloads, secret_data, warning_events
from conformance.options import Settings
from conformance.plugin import record_findings
from conformance.report import Finding
from conformance.timeouts import TIMEOUTS

pytestmark = pytest.mark.xdist_group("cluster")


def fail(request: pytest.FixtureRequest, inst: Installed, rule: str, message: str, remediation: str = "") -> None:
    """Record a cluster finding, dump the namespace, and fail the test."""
    folder = inst.dump()
    f = Finding(rule=rule, check=rule.removeprefix("cluster-"), severity="error", kind="Release",
                name=inst.release.name, namespace=inst.release.namespace, container="", template="", path="",
                message=message, remediation=remediation or f"see the dump in {folder}",
                scenario=inst.scenario.name, tier="cluster")
    record_findings(request, [f], rule=rule, chart=str(inst.chart.path))
    pytest.fail(f.line(), pytrace=False)


def test_install_within_sc001(installed: Installed, request: pytest.FixtureRequest) -> None:
    """`helm install --wait` succeeds and returns within SC-001 (10 minutes)."""
    if installed.error is not None:
        fail(request, installed, "cluster-install", str(installed.error))
    assert installed.step is not None
    request.node.user_properties.append(("seconds", f"{installed.step.seconds:.2f}"))
    if installed.step.seconds > TIMEOUTS.sc001_deploy:
        fail(request, installed, "sc-001-deploy-time",
             f"deploy took {installed.step.seconds:.0f}s, over SC-001's {TIMEOUTS.sc001_deploy:.0f}s")


def test_pod_security_admission(installed: Installed, request: pytest.FixtureRequest) -> None:
    """The API server's PodSecurity admission (restricted) neither rejects nor warns about any pod."""
    if installed.error is not None:
        pytest.fail("not installed (see test_install_within_sc001)", pytrace=False)
    rejected = warning_events(installed.cluster, installed.release.namespace)
    warned = [w for w in (installed.step.warnings if installed.step else ()) if "PodSecurity" in w]
    if rejected or warned:
        fail(request, installed, "cluster-pod-security", "; ".join(rejected + warned),
             "make every pod template meet PSS restricted (the render tier's pss-* findings say how)")


def test_workloads_ready(installed: Installed, request: pytest.FixtureRequest) -> None:
    """Every Deployment, StatefulSet and DaemonSet of the release is fully ready."""
    if installed.error is not None:
        pytest.fail("not installed (see test_install_within_sc001)", pytrace=False)
    cluster, ns, name = installed.cluster, installed.release.namespace, installed.release.name

    def all_ready() -> bool:
        return not pending_workloads(cluster, ns, name)

    try:
        wait_for(all_ready, TIMEOUTS.sc001_deploy, TIMEOUTS.poll_interval, "workloads to be ready")
    except WaitTimeout:
        fail(request, installed, "cluster-ready", "; ".join(pending_workloads(cluster, ns, name)))


def test_upgrade_keeps_secrets(installed: Installed, request: pytest.FixtureRequest,
                               conformance_settings: Settings) -> None:
    """`helm upgrade --wait` to the chart under test succeeds and regenerates no existing Secret."""
    if installed.error is not None:
        pytest.fail("not installed (see test_install_within_sc001)", pytrace=False)
    ns, name = installed.release.namespace, installed.release.name
    before = secret_data(installed.cluster, ns, name)
    try:
        step = installed.release.upgrade(installed.chart.path, installed.files, TIMEOUTS.helm_upgrade)
    except FlowError as exc:
        fail(request, installed, "cluster-upgrade", str(exc),
             "an immutable field (selector, volumeClaimTemplates) probably changed between versions")
    request.node.user_properties.append(("seconds", f"{step.seconds:.2f}"))
    after = secret_data(installed.cluster, ns, name)
    changed = sorted(s for s, data in before.items() if s in after and after[s] != data)
    if changed:
        fail(request, installed, "cluster-secrets-stable", f"upgrade regenerated Secret data: {', '.join(changed)}",
             "reuse existing Secret data on upgrade (lookup the Secret and keep its keys)")


def test_helm_test_hooks(installed: Installed, request: pytest.FixtureRequest) -> None:
    """`helm test` runs the chart's test hooks and they succeed."""
    if installed.error is not None:
        pytest.fail("not installed (see test_install_within_sc001)", pytrace=False)
    try:
        step = installed.release.test(TIMEOUTS.helm_test)
    except FlowError as exc:
        logs = hook_logs(installed.cluster, installed.release.namespace, installed.release.name)
        fail(request, installed, "cluster-helm-test", "; ".join([str(exc), *logs]))
    request.node.user_properties.append(("seconds", f"{step.seconds:.2f}"))


def test_rollback(installed: Installed, request: pytest.FixtureRequest) -> None:
    """`helm rollback` to revision 1 succeeds and the history records it as deployed."""
    if installed.error is not None:
        pytest.fail("not installed (see test_install_within_sc001)", pytrace=False)
    try:
        installed.release.rollback(1, TIMEOUTS.helm_rollback)
        history = installed.release.history(TIMEOUTS.helm_rollback)
    except FlowError as exc:
        fail(request, installed, "cluster-rollback", str(exc))
    last = history[-1] if history else {}
    if last.get("status") != "deployed" or "Rollback to 1" not in str(last.get("description", "")):
        fail(request, installed, "cluster-rollback", f"history does not end in a deployed rollback: {last}")
