"""Fixtures for the cluster and e2e tiers: one cluster per session, a PSS-enforcing namespace per release."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conformance.cases import chart_for, chart_of
from conformance.chart import Chart, Scenario
from conformance.cluster import Cluster, KindCluster, KwokCluster, WaitTimeout, provider_for, wait_for
from conformance.cluster.kind import workload_images
from conformance.cluster.kindplan import KindPlan, plan_for
from conformance.flows import storage
from conformance.flows.helm_release import FlowError, HelmRelease, Step
from conformance.flows.inspect import dump, failing_readiness, pending_workloads, warning_events
from conformance.flows.jobs import launchable_jobs
from conformance.options import Settings
from conformance.render.helm_cli import RELEASE
from conformance.timeouts import TIMEOUTS

#: Namespaces the harness creates enforce this Pod Security level, so admission rejects what PSS forbids.
PSS_LEVEL = "restricted"


@dataclass
class Installed:
    """A release installed for a tier: its handle, the install step (or the error), and where it lives."""

    release: HelmRelease
    chart: Chart
    scenario: Scenario
    source: str
    step: Step | None
    error: FlowError | None
    cluster: Cluster
    dump_dir: Path
    #: the values files installed: the scenario's, then the chart's Kind values on Kind
    files: tuple[Path, ...] = ()
    plan: KindPlan = field(default_factory=KindPlan)

    def dump(self) -> Path:
        """Write the namespace's events and objects for a failed check."""
        return dump(self.cluster, self.release.namespace, self.dump_dir)


@pytest.fixture(scope="session")
def cluster(conformance_settings: Settings, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """The session's cluster from the chosen provider; deleted at the end, on failure and on interrupt.

    On Kind the workload images of kind/versions.yaml are loaded into the node, and the nodes' logs are
    exported to `<reports>/kind-logs/` when creation or any test failed.
    """
    c = provider_for(conformance_settings.provider, kubeconfig=conformance_settings.kubeconfig)
    if isinstance(c, KindCluster):
        c.logs_dir = Path(conformance_settings.reports) / "kind-logs"
    with c:
        if isinstance(c, KwokCluster):
            storage.provision(c)
        if isinstance(c, KindCluster):
            c.load_images(workload_images())
        yield c
        if isinstance(c, KindCluster) and request.session.testsfailed:
            c.export_logs()


def kind_plan(cluster: Cluster, chart: Chart) -> KindPlan:
    """The chart's Kind values, prerequisites and read-back on Kind; nothing on other providers."""
    return plan_for(chart.name) if isinstance(cluster, KindCluster) else KindPlan()


@pytest.fixture(scope="session")
def chart(conformance_settings: Settings) -> Chart:
    """The chart under test."""
    return chart_of(conformance_settings)


def namespace_for(cluster: Cluster, prefix: str) -> str:
    """Create a namespace enforcing PSS restricted (warn and audit too) and return its name."""
    name = f"{prefix}-{secrets.token_hex(3)}"[:63]
    cluster.kubectl("create", "namespace", name)
    labels = [f"pod-security.kubernetes.io/{mode}={PSS_LEVEL}" for mode in ("enforce", "warn", "audit")]
    cluster.kubectl("label", "namespace", name, *labels)
    wait_for(lambda: cluster.run_kubectl("get", "serviceaccount", "default", "--namespace", name).returncode == 0,
             TIMEOUTS.ready, TIMEOUTS.poll_interval, f"the default ServiceAccount of namespace {name}")
    return name


def install(cluster: Cluster, chart: Chart, scenario: Scenario, source: str, tier: str, reports: Path) -> Installed:
    """Install `source` (the chart under test, or the previous release for upgrades) in a fresh namespace."""
    ns = namespace_for(cluster, f"{tier}-{chart.name}"[:40])
    release = HelmRelease(cluster.kubeconfig, RELEASE, ns)  # the render tier's release name: same object names
    dump_dir = reports / "cluster" / f"{tier}-{scenario.name.replace('/', '_')}"
    plan = kind_plan(cluster, chart)
    start = time.monotonic()
    try:
        for before in plan.before:
            HelmRelease(cluster.kubeconfig, before.release, ns).install(before.chart, before.values,
                                                                        TIMEOUTS.sc001_deploy)
            wait_ready(cluster, ns, before.release, TIMEOUTS.sc001_deploy)
        start = time.monotonic()
        step: Step | None = release.install(source, scenario.files + plan.values, TIMEOUTS.sc001_deploy)
        wait_ready(cluster, ns, release.name, TIMEOUTS.sc001_deploy)
        assert step is not None
        step = Step(step.name, time.monotonic() - start, step.output, step.warnings)
        error = None
    except FlowError as exc:
        step, error = None, exc
    return Installed(release, chart, scenario, source, step, error, cluster, dump_dir,
                     scenario.files + plan.values, plan)


def wait_ready(cluster: Cluster, namespace: str, release: str, timeout: float) -> None:
    """Wait until the release's workloads are ready; fail fast on FailedCreate (e.g. PodSecurity) events."""
    def settled() -> str:
        # FailedCreate: admission (PodSecurity) refused the pod; AppArmor: the kubelet refused it
        rejected = warning_events(cluster, namespace, ("FailedCreate", "AppArmor"))
        if rejected:
            return "pods were rejected: " + "; ".join(rejected)
        unready = failing_readiness(cluster, namespace, release, TIMEOUTS.readiness_grace)
        if unready:
            return "readiness probe never passed: " + "; ".join(unready)
        return "" if pending_workloads(cluster, namespace, release) else "ready"

    try:
        outcome = wait_for(settled, timeout, TIMEOUTS.poll_interval, f"release {release} to be ready")
        if outcome != "ready":
            raise FlowError(outcome)
    except WaitTimeout as exc:
        raise FlowError(f"{exc}: {'; '.join(pending_workloads(cluster, namespace, release))}") from exc


def teardown(inst: Installed) -> None:
    """Uninstall the release and delete its namespace (best effort: the cluster is deleted anyway)."""
    with contextlib.suppress(FlowError):
        inst.release.uninstall(TIMEOUTS.helm_uninstall)
    inst.cluster.run_kubectl("delete", "namespace", inst.release.namespace, "--wait=false")


def launchable(config: pytest.Config) -> list[tuple[str, str]]:
    """(kind, name) of every Job and CronJob the chart renders by default (helm hooks excluded)."""
    from conformance.suite import settings_of  # noqa: PLC0415 (suite imports the plugin)

    settings = settings_of(config)
    assert settings.chart is not None
    chart = chart_for(settings.chart.resolve(), settings.values)
    return launchable_jobs(chart, settings.kube_version_full)
