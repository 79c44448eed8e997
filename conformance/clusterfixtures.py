"""Fixtures for the cluster and e2e tiers: one cluster per session, a PSS-enforcing namespace per release.

The provider comes from the one resolver (`resolve_provider`), so the provider the CLI announced is the one
that runs. Every cluster and e2e test carries `provider` and `kube_version` properties; a test marked
`simulated` whose provider only simulates what it rests on (kwok) gets `simulated=true` and the reason.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conformance.cases import chart_for, chart_of
from conformance.chart import Chart, Scenario
from conformance.cluster import Cluster, KindCluster, KubectlError, KwokCluster, WaitTimeout, wait_for
from conformance.cluster.kind import workload_images
from conformance.cluster.kindplan import KindPlan, plan_for
from conformance.cluster.provider import ProviderChoice, cluster_for, resolve_provider
from conformance.cluster.watch import Blocked, NamespaceWatch, State, blocking
from conformance.flows import storage
from conformance.flows.helm_release import FlowError, HelmRelease, Step
from conformance.flows.inspect import dump, generations, pending, readiness_failures
from conformance.flows.jobs import launchable_jobs
from conformance.options import BUDGETS, BY_NAME, Settings
from conformance.plugin import record_findings, record_timing
from conformance.render.helm_cli import RELEASE
from conformance.report import Finding
from conformance.timeouts import TIMEOUTS
from conformance.timing import Timing

#: Namespaces the harness creates enforce this Pod Security level, so admission rejects what PSS forbids.
PSS_LEVEL = "restricted"


@dataclass
class ClusterRun:
    """The session's cluster and how it was obtained: provider choice, server version, creation time."""

    choice: ProviderChoice
    cluster: Cluster
    kube_version: str
    settings: Settings
    #: seconds from creation start to a serving API server (None for an existing cluster)
    start_seconds: float | None

    def timing(self, timing_id: str, seconds: float, chart: Chart, scenario: str, simulated: bool,
               detail: str = "") -> Timing:
        """A timing row with this run's provenance and the configured budget."""
        return Timing(timing_id, round(seconds, 3), self.settings.budget(timing_id), self.choice.name,
                      self.kube_version, chart.name, scenario, simulated and bool(self.choice.simulated), detail)


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
    watch: NamespaceWatch
    #: the values files installed: the scenario's, then the chart's Kind values on Kind
    files: tuple[Path, ...] = ()
    plan: KindPlan = field(default_factory=KindPlan)

    def dump(self) -> Path:
        """Write the namespace's events, objects and every container's logs for a failed check."""
        return dump(self.cluster, self.release.namespace, self.dump_dir)

    def wait_ready(self, timeout: float, describe: str) -> None:
        """Wait until the release is ready (see `wait_release`)."""
        wait_release(self.watch, self.release, self.cluster, timeout, describe)


def server_version(cluster: Cluster) -> str:
    """The API server's gitVersion (e.g. v1.35.4)."""
    data = json.loads(cluster.kubectl("version", "--output", "json"))
    return str((data.get("serverVersion") or {}).get("gitVersion", "unknown"))


@pytest.fixture(scope="session")
def cluster_run(conformance_settings: Settings, request: pytest.FixtureRequest) -> Iterator[ClusterRun]:
    """The session's cluster from the resolved provider; deleted at the end, on failure and on interrupt.

    On Kind the workload images of kind/versions.yaml are loaded into the node, and the nodes' logs are
    exported to `<reports>/kind-logs/` when creation or any test failed. An existing cluster (provider
    kubeconfig) is only used, never deleted.
    """
    s = conformance_settings
    choice = resolve_provider(s.provider, s.kubeconfig, s.kube_context, probe=False)
    c = cluster_for(choice)
    if isinstance(c, KindCluster):
        c.logs_dir = Path(s.reports) / "kind-logs"
    start = time.monotonic()
    with c:
        started = None if choice.name == "kubeconfig" else time.monotonic() - start
        if isinstance(c, KwokCluster):
            storage.provision(c)
        if isinstance(c, KindCluster):
            c.load_images(workload_images())
        yield ClusterRun(choice, c, server_version(c), s, started)
        if isinstance(c, KindCluster) and request.session.testsfailed:
            c.export_logs()


@pytest.fixture(scope="session")
def cluster(cluster_run: ClusterRun) -> Cluster:
    """The session's cluster."""
    return cluster_run.cluster


@pytest.fixture(autouse=True)
def provenance(request: pytest.FixtureRequest) -> None:
    """Every cluster and e2e result says which provider and Kubernetes version produced it, and what of it
    the provider only simulated."""
    if request.node.get_closest_marker("cluster") is None and request.node.get_closest_marker("e2e") is None:
        return
    run: ClusterRun = request.getfixturevalue("cluster_run")
    props = request.node.user_properties
    props += [("provider", run.choice.name), ("kube_version", run.kube_version)]
    marker = request.node.get_closest_marker("simulated")
    if marker is not None and run.choice.simulated:
        what = str(marker.args[0]) if marker.args else "this check"
        props += [("simulated", "true"), ("simulated_reason", f"{what}: {run.choice.simulated}")]


def kind_plan(cluster: Cluster, chart: Chart) -> KindPlan:
    """The chart's Kind values, prerequisites and read-back on Kind; nothing on other providers."""
    return plan_for(chart.name) if isinstance(cluster, KindCluster) else KindPlan()


@pytest.fixture(scope="session")
def chart(conformance_settings: Settings) -> Chart:
    """The chart under test."""
    return chart_of(conformance_settings)


def cluster_scenarios(chart: Chart) -> list[Scenario]:
    """The scenarios installed on a cluster: the defaults, each environment overlay (`values-*.yaml`) and
    each --values scenario; `ci/` files stay with the render tier."""
    return [sc for sc in chart.scenarios if not sc.name.startswith("ci/")]


def namespace_for(cluster: Cluster, prefix: str) -> str:
    """Create a namespace enforcing PSS restricted (warn and audit too) and return its name."""
    name = f"{prefix[:50].rstrip('-')}-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", name)
    labels = [f"pod-security.kubernetes.io/{mode}={PSS_LEVEL}" for mode in ("enforce", "warn", "audit")]
    cluster.kubectl("label", "namespace", name, *labels)
    wait_for(lambda: cluster.run_kubectl("get", "serviceaccount", "default", "--namespace", name).returncode == 0,
             TIMEOUTS.ready, TIMEOUTS.poll_interval, f"the default ServiceAccount of namespace {name}")
    return name


def wait_release(watch: NamespaceWatch, release: HelmRelease, cluster: Cluster, timeout: float,
                 describe: str) -> None:
    """Wait until every workload of the release's manifest is rolled out and ready at its current generation;
    FlowError at once, with the cluster's own reason, when events or pod states say it cannot get there, or
    after `timeout`."""
    try:
        expected = generations(cluster, release.namespace, release.workloads(TIMEOUTS.kubectl))
    except KubectlError as exc:
        raise FlowError(f"{describe}: {exc}") from exc

    def ready(state: State) -> str:
        return "" if pending(state, expected) else "ready"

    def blockers(state: State, since: float) -> list[str]:
        return blocking(state, since) + readiness_failures(state, release.name, TIMEOUTS.readiness_grace)

    try:
        watch.wait(ready, timeout, describe, blockers)
    except Blocked as exc:
        raise FlowError(f"{describe}: {exc}") from exc
    except WaitTimeout as exc:
        raise FlowError(f"{exc}: {'; '.join(pending(watch.snapshot(), expected))}") from exc


def install(cluster: Cluster, chart: Chart, scenario: Scenario, source: str, tier: str, reports: Path,
            files: tuple[Path, ...] | None = None) -> Installed:
    """Install `source` (the chart under test, or the previous release for upgrades) in a fresh namespace,
    with `files` (default: the scenario's) and the chart's Kind values on Kind, and wait until it is ready."""
    ns = namespace_for(cluster, f"{tier}-{chart.name}-{scenario.name.replace(':', '-').replace('+', '-')}".lower())
    release = HelmRelease(cluster.kubeconfig, RELEASE, ns, cluster.context)  # the render tier's release name
    dump_dir = reports / "cluster" / ns
    plan = kind_plan(cluster, chart)
    installed_files = (scenario.files if files is None else files) + plan.values
    watch = NamespaceWatch(cluster, ns)
    try:
        for before in plan.before:
            first = HelmRelease(cluster.kubeconfig, before.release, ns, cluster.context)
            first.install(before.chart, before.values, TIMEOUTS.sc001_deploy)
            wait_release(watch, first, cluster, TIMEOUTS.sc001_deploy, f"prerequisite release {before.release}")
        start = time.monotonic()
        step = release.install(source, installed_files, TIMEOUTS.sc001_deploy)
        wait_release(watch, release, cluster, TIMEOUTS.sc001_deploy, f"release {release.name} to be ready")
        step = Step(step.name, time.monotonic() - start, step.output, step.warnings)
        error = None
    except FlowError as exc:
        step, error = None, exc
    return Installed(release, chart, scenario, source, step, error, cluster, dump_dir, watch, installed_files, plan)


def teardown(inst: Installed, wait: bool = False) -> None:
    """Stop watching, uninstall the release and delete its namespace (the harness made both); `wait` until the
    namespace is gone, so its pods no longer hold the node's resources for what runs next."""
    inst.watch.stop()
    with contextlib.suppress(FlowError):
        inst.release.uninstall(TIMEOUTS.helm_uninstall)
    inst.cluster.run_kubectl("delete", "namespace", inst.release.namespace, f"--wait={str(wait).lower()}",
                             f"--timeout={TIMEOUTS.namespace_delete:g}s", timeout=TIMEOUTS.namespace_delete + 10)


def launchable(config: pytest.Config) -> list[tuple[str, str]]:
    """(kind, name) of every Job and CronJob the chart renders by default (helm hooks excluded)."""
    from conformance.suite import settings_of  # noqa: PLC0415 (suite imports the plugin)

    settings = settings_of(config)
    assert settings.chart is not None
    chart = chart_for(settings.chart.resolve(), settings.values)
    return launchable_jobs(chart, settings.kube_version_full)


def scenarios_of(config: pytest.Config) -> list[Scenario]:
    """The cluster scenarios of the chart under test, for parametrising at collection."""
    from conformance.suite import settings_of  # noqa: PLC0415

    settings = settings_of(config)
    assert settings.chart is not None
    return cluster_scenarios(chart_for(settings.chart.resolve(), settings.values))


def timed(request: pytest.FixtureRequest, run: ClusterRun, timing: Timing) -> None:
    """Record a timing on the test and fail it when over budget, saying how the figure was obtained."""
    record_timing(request, timing)
    if not timing.within_budget:
        rule = {"sc-001": "sc-001-deploy-time", "sc-002": "sc-002-job-launch"}.get(timing.id, "timing-budget")
        f = Finding(rule=rule, check=timing.id, severity="error", kind="Timing", name=timing.id,
                    namespace="", container="", template="", path="", scenario=timing.scenario,
                    tier="e2e" if timing.id == "sc-002" else "cluster",
                    message=f"{timing.line()} is over its budget",
                    remediation=f"make it faster, or raise {BY_NAME[BUDGETS[timing.id]].flag} "
                    "if the budget is wrong for this cluster")
        record_findings(request, [f], rule=rule)
        pytest.fail(f.line(), pytrace=False)
