"""Tier cluster: per scenario (defaults and each environment overlay), the chart installs within SC-001 on a
namespace enforcing PSS restricted, admission rejects nothing, `helm test` passes, the previous release
upgrades to it (naming any immutable field that changed), and a rollback restores the first revision.

Every result carries the provider and Kubernetes version; on kwok, what rests on containers (readiness,
test hook pods) is marked simulated, not reported as a plain pass.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NoReturn

import pytest

from conformance.chart import Chart, Scenario, load_chart
from conformance.clusterfixtures import ClusterRun, Installed, install, teardown, timed
from conformance.flows.helm_release import FlowError
from conformance.flows.inspect import hook_logs, secret_data, warning_events
from conformance.flows.previous import Previous
from conformance.plugin import record_findings
from conformance.render.helm_cli import render_files
from conformance.report import Finding
from conformance.rules.immutable import immutable_changes, ref
from conformance.timeouts import TIMEOUTS

pytestmark = pytest.mark.xdist_group("cluster")
READINESS = "workload readiness (pods Running and Ready)"


def finding(inst: Installed, rule: str, message: str, remediation: str = "", severity: str = "error") -> Finding:
    """A release-level finding of this tier, pointing at the namespace dump."""
    folder = inst.dump()
    return Finding(rule=rule, check=rule.removeprefix("cluster-"), severity=severity, kind="Release",
                   name=inst.release.name, namespace=inst.release.namespace, container="", template="", path="",
                   message=message, remediation=remediation or f"see the dump in {folder}",
                   scenario=inst.scenario.name, tier="cluster")


def fail(request: pytest.FixtureRequest, inst: Installed, rule: str, message: str, remediation: str = "") -> NoReturn:
    """Record a cluster finding, dump the namespace, and fail the test."""
    f = finding(inst, rule, message, remediation)
    record_findings(request, [f], rule=rule, chart=str(inst.chart.path))
    pytest.fail(f.line(), pytrace=False)


def require_installed(inst: Installed) -> None:
    """Later checks of a scenario need its install: say so instead of repeating the install's failure."""
    if inst.error is not None:
        pytest.fail(f"not installed (see test_install_within_sc001[{inst.scenario.name}])", pytrace=False)


def test_cluster_start(cluster_run: ClusterRun, chart: Chart, request: pytest.FixtureRequest) -> None:
    """The cluster serves within its budget (a cluster the harness did not create is not timed)."""
    request.node.user_properties.append(("provider_why", cluster_run.choice.why))
    if cluster_run.start_seconds is None:
        request.node.user_properties.append(("cluster_start", "not measured: an existing cluster"))
        return
    timed(request, cluster_run, cluster_run.timing("cluster-start", cluster_run.start_seconds, chart, "-", False,
                                                   f"{cluster_run.choice.name} create to API server serving"))


@pytest.mark.simulated(READINESS)
def test_install_within_sc001(installed: Installed, cluster_run: ClusterRun, request: pytest.FixtureRequest) -> None:
    """`helm install` and every workload ready within SC-001 (10 minutes)."""
    if installed.error is not None:
        fail(request, installed, "cluster-install", str(installed.error))
    assert installed.step is not None
    timed(request, cluster_run, cluster_run.timing("sc-001", installed.step.seconds, installed.chart,
                                                   installed.scenario.name, True, "helm install to every workload "
                                                   "rolled out and ready (namespace watch)"))


def test_pod_security_admission(installed: Installed, request: pytest.FixtureRequest) -> None:
    """The API server's PodSecurity admission (restricted) neither rejects nor warns about any pod."""
    require_installed(installed)
    rejected = warning_events(installed.cluster, installed.release.namespace)
    warned = [w for w in (installed.step.warnings if installed.step else ()) if "PodSecurity" in w]
    if rejected or warned:
        fail(request, installed, "cluster-pod-security", "; ".join(rejected + warned),
             "make every pod template meet PSS restricted (the render tier's pss-* findings say how)")


@pytest.mark.simulated("`helm test` hook pods (their containers)")
def test_helm_test_hooks(installed: Installed, request: pytest.FixtureRequest) -> None:
    """`helm test` runs the chart's test hooks and they succeed."""
    require_installed(installed)
    try:
        step = installed.release.test(TIMEOUTS.helm_test)
    except FlowError as exc:
        logs = hook_logs(installed.cluster, installed.release.namespace, installed.release.name)
        fail(request, installed, "cluster-helm-test", "; ".join([str(exc), *logs]))
    request.node.user_properties.append(("seconds", f"{step.seconds:.2f}"))


def previous_files(previous: Previous, chart: Chart, scenario: Scenario) -> tuple[Path, ...]:
    """The previous release's own copy of a scenario's values files (chart-testing installs the old chart with
    its own values); files from outside the chart, or missing from the old chart, are used as they are."""
    old = Path(previous.source)
    if previous.is_self or not old.is_dir():
        return scenario.files
    out = []
    for f in scenario.files:
        try:
            rel = f.resolve().relative_to(chart.path)
        except ValueError:
            out.append(f)
            continue
        if (old / rel).is_file():
            out.append(old / rel)
    return tuple(out)


def changed_immutable(previous: Previous, old_files: tuple[Path, ...], chart: Chart, scenario: Scenario,
                      kube_version: str) -> list[str]:
    """`Kind/name path: old -> new` for every immutable field the two renders disagree on."""
    if not Path(previous.source).is_dir():
        return []
    old = render_files(load_chart(Path(previous.source)), old_files, kube_version)
    new = render_files(chart, scenario.files, kube_version)
    before = {ref(m.obj): m.obj for m in old.manifests}
    out = []
    for m in new.manifests:
        if ref(m.obj) in before:
            out += [f"{ref(m.obj)} {p}: {a!r} -> {b!r}" for p, a, b in immutable_changes(before[ref(m.obj)], m.obj)]
    return out


@pytest.mark.simulated(READINESS)
def test_upgrade_from_previous(cluster_run: ClusterRun, chart: Chart, scenario: Scenario, previous: Previous,
                               request: pytest.FixtureRequest) -> None:
    """The previous release, installed with its own values, upgrades to the chart under test: every workload
    ready again within budget, no generated Secret regenerated; an immutable-field break is named."""
    request.node.user_properties += [("upgrade_from", previous.version), ("upgrade_from_how", previous.how)]
    reports = Path(cluster_run.settings.reports)
    old_files = previous_files(previous, chart, scenario)
    inst = install(cluster_run.cluster, chart, scenario, previous.source, "upgrade", reports, old_files)
    try:
        if inst.error is not None:
            fail(request, inst, "cluster-upgrade", f"the previous release {previous.version} ({previous.how}) "
                 f"did not install: {inst.error}", "fix --upgrade-from, or tag the last good release")
        before = secret_data(inst.cluster, inst.release.namespace, inst.release.name)
        start = time.monotonic()
        try:
            inst.release.upgrade(chart.path, scenario.files + inst.plan.values, TIMEOUTS.helm_upgrade)
            inst.wait_ready(TIMEOUTS.helm_upgrade, f"release {inst.release.name} to be ready after the upgrade")
        except FlowError as exc:
            fields = changed_immutable(previous, old_files, chart, scenario, cluster_run.settings.kube_version_full)
            named = f"; immutable fields changed: {'; '.join(fields)}" if fields else ""
            if previous.breaking:
                f = finding(inst, "cluster-upgrade-breaking", f"{previous.breaking}, and the upgrade fails: {exc}"
                            f"{named}", "say in the chart's README and NOTES.txt how to upgrade across this "
                            "release", "warning")
                record_findings(request, [f], rule=f.rule, chart=str(chart.path))
                request.node.user_properties.append(("breaking", previous.breaking))
                return
            fail(request, inst, "cluster-upgrade", f"upgrade from {previous.version} ({previous.how}) failed: "
                 f"{exc}{named}", "keep immutable fields (selectors, volumeClaimTemplates, serviceName) "
                 "unchanged between releases; the render tier's immutable-fields-stable rule shows where")
        timed(request, cluster_run, cluster_run.timing("upgrade", time.monotonic() - start, chart, scenario.name, True,
                                                       f"helm upgrade from {previous.version} to every workload "
                                                       "ready"))
        after = secret_data(inst.cluster, inst.release.namespace, inst.release.name)
        changed = sorted(s for s, data in before.items() if s in after and after[s] != data)
        if changed:
            fail(request, inst, "cluster-secrets-stable", f"upgrade regenerated Secret data: {', '.join(changed)}",
                 "reuse existing Secret data on upgrade (lookup the Secret and keep its keys)")
    finally:
        teardown(inst, wait=True)


@pytest.mark.simulated(READINESS)
def test_rollback(installed: Installed, cluster_run: ClusterRun, request: pytest.FixtureRequest) -> None:
    """An upgrade in place (revision 2), then `helm rollback` to revision 1: deployed and ready within budget."""
    require_installed(installed)
    rel = installed.release
    try:
        rel.upgrade(installed.chart.path, installed.files, TIMEOUTS.helm_upgrade)
        installed.wait_ready(TIMEOUTS.helm_upgrade, f"release {rel.name} to be ready after the in-place upgrade")
        start = time.monotonic()
        rel.rollback(1, TIMEOUTS.helm_rollback)
        installed.wait_ready(TIMEOUTS.helm_rollback, f"release {rel.name} to be ready after the rollback")
        seconds = time.monotonic() - start
        history = rel.history(TIMEOUTS.helm_rollback)
    except FlowError as exc:
        fail(request, installed, "cluster-rollback", str(exc))
    last = history[-1] if history else {}
    if last.get("status") != "deployed" or "Rollback to 1" not in str(last.get("description", "")):
        fail(request, installed, "cluster-rollback", f"history does not end in a deployed rollback: {last}")
    timed(request, cluster_run, cluster_run.timing("rollback", seconds, installed.chart,
                                                   installed.scenario.name, True, "helm rollback to revision 1"))
