"""Tier e2e: every Job and CronJob of the chart gets a running container within SC-002 (30 seconds) of the
Job's creation, and runs to completion. The time comes from the namespace watch (sub-second, image pulls
included). On kwok the pod's run is simulated by stages (marked simulated); on Kind or a cloud cluster it
is real, and a chart's Kind plan may also check the Job's log and read back what it wrote.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import NoReturn

import pytest

from conformance.cluster.kindplan import run_verify
from conformance.cluster.timeouts import WaitTimeout
from conformance.cluster.watch import Blocked, blocking
from conformance.clusterfixtures import ClusterRun, Installed, launchable, timed
from conformance.flows.jobs import Launch, job_outcome, launch_from_cronjob, launched
from conformance.options import Settings
from conformance.plugin import record_findings
from conformance.report import Finding
from conformance.timeouts import TIMEOUTS

pytestmark = [pytest.mark.xdist_group("cluster"), pytest.mark.simulated("the Job's pod and container run")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per Job or CronJob the chart renders."""
    if "job_ref" in metafunc.fixturenames:
        refs = launchable(metafunc.config)
        if not refs:
            raise pytest.UsageError("tier e2e: the chart renders no Job or CronJob to launch (SC-002); leave e2e out")
        metafunc.parametrize("job_ref", refs, ids=[f"{k}/{n}" for k, n in refs])


def fail(request: pytest.FixtureRequest, inst: Installed, kind: str, name: str, rule: str, message: str) -> NoReturn:
    """Record an e2e finding (with the namespace dump) and fail the test."""
    f = Finding(rule=rule, check=rule, severity="error", kind=kind, name=name, namespace=inst.release.namespace,
                container="", template="", path="", message=message, scenario=inst.scenario.name, tier="e2e",
                remediation=f"see the dump in {inst.dump()}")
    record_findings(request, [f], rule=rule, chart=str(inst.chart.path))
    pytest.fail(f.line(), pytrace=False)


def test_job_launch_within_sc002(job_ref: tuple[str, str], e2e_installed: Installed, cluster_run: ClusterRun,
                                 request: pytest.FixtureRequest, conformance_settings: Settings) -> None:
    """The job's first container runs within SC-002's 30 seconds of the Job's creation, and the job completes."""
    kind, name = job_ref
    inst = e2e_installed
    if inst.error is not None:
        pytest.fail(f"install failed: {inst.error}", pytrace=False)
    job = name if kind == "Job" else f"{name[:40]}-e2e-{secrets.token_hex(3)}"
    if kind == "CronJob":
        launch_from_cronjob(inst.cluster, inst.release.namespace, name, job)
    try:
        inst.watch.wait(lambda s: "started" if launched(s, job) else "", TIMEOUTS.sc002_job_launch * 4,
                        f"a container of job {job} to run", blocking)
    except (WaitTimeout, Blocked) as exc:
        fail(request, inst, kind, name, "sc-002-job-launch", str(exc))
    launch = launched(inst.watch.snapshot(), job)
    assert isinstance(launch, Launch)
    request.node.user_properties += [("api_seconds", f"{launch.api_seconds:.0f}"), ("pod", launch.pod)]
    timed(request, cluster_run, cluster_run.timing(
        "sc-002", launch.seconds, inst.chart, f"{kind}/{name}", True,
        f"Job ADDED to first container running (watch, sub-second); API timestamps say {launch.api_seconds:.0f}s"))
    try:
        state = inst.watch.wait(lambda s: job_outcome(s, job), TIMEOUTS.helm_test, f"job {job} to finish",
                                lambda s, since: [])
    except WaitTimeout as exc:
        state = str(exc)
    log = _keep_logs(inst, job, Path(conformance_settings.reports))
    if state != "Complete":
        fail(request, inst, kind, name, "e2e-job-complete", f"job {job} did not complete: {state} (log: {log})")
    plan = inst.plan
    if plan.job_log_expect and plan.job_log_expect not in log.read_text():
        fail(request, inst, kind, name, "e2e-job-output",
             f"job {job} completed but its log has no {plan.job_log_expect!r} (log: {log})")
    if plan.verify is not None:
        problem = run_verify(inst.cluster, inst.release.namespace, plan.verify)
        if problem:
            fail(request, inst, kind, name, "e2e-job-result", problem)
        request.node.user_properties.append(("verified", plan.verify.describe))


def _keep_logs(inst: Installed, job: str, reports: Path) -> Path:
    """Write the Job's pod logs (every container) to <reports>/logs/<namespace>-<job>.log and return the path."""
    folder = reports / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{inst.release.namespace}-{job}.log"
    proc = inst.cluster.run_kubectl("logs", f"job/{job}", "--namespace", inst.release.namespace,
                                    "--all-containers", "--timestamps")
    path.write_text(proc.stdout + proc.stderr)
    return path
