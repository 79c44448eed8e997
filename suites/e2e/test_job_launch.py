"""Tier e2e: every Job and CronJob of the chart launches a pod within SC-002 (30 seconds) on a live
cluster, and runs to completion. On kwok the pod's run is simulated; on Kind or a cloud cluster it is real."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from conformance.cluster.kindplan import run_verify
from conformance.cluster.timeouts import WaitTimeout, wait_for
from conformance.clusterfixtures import Installed, launchable
from conformance.flows.jobs import launch_from_cronjob, time_to_start
from conformance.options import Settings
from conformance.plugin import record_findings
from conformance.report import Finding
from conformance.timeouts import TIMEOUTS

pytestmark = pytest.mark.xdist_group("cluster")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per Job or CronJob the chart renders."""
    if "job_ref" in metafunc.fixturenames:
        refs = launchable(metafunc.config)
        if not refs:
            raise pytest.UsageError("tier e2e: the chart renders no Job or CronJob to launch (SC-002); leave e2e out")
        metafunc.parametrize("job_ref", refs, ids=[f"{k}/{n}" for k, n in refs])


def _finding(inst: Installed, kind: str, name: str, rule: str, message: str) -> Finding:
    return Finding(rule=rule, check=rule, severity="error", kind=kind, name=name, namespace=inst.release.namespace,
                   container="", template="", path="", message=message, scenario=inst.scenario.name, tier="e2e",
                   remediation=f"see the dump in {inst.dump()}")


def _job_done(inst: Installed, job: str) -> str:
    out = inst.cluster.kubectl("get", "job", job, "--namespace", inst.release.namespace, "--output", "json")
    for c in (json.loads(out).get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return ""


def test_job_launch_within_sc002(job_ref: tuple[str, str], e2e_installed: Installed,
                                 request: pytest.FixtureRequest, conformance_settings: Settings) -> None:
    """The job's pod starts within SC-002's 30 seconds, and the job completes."""
    kind, name = job_ref
    inst = e2e_installed
    if inst.error is not None:
        pytest.fail(f"install failed: {inst.error}", pytrace=False)
    job = name if kind == "Job" else f"{name[:40]}-e2e-{secrets.token_hex(3)}"
    if kind == "CronJob":
        launch_from_cronjob(inst.cluster, inst.release.namespace, name, job)
    try:
        seconds, _ = time_to_start(inst.cluster, inst.release.namespace, job, TIMEOUTS.sc002_job_launch * 4,
                                   TIMEOUTS.poll_interval)
    except WaitTimeout as exc:
        f = _finding(inst, kind, name, "sc-002-job-launch", str(exc))
        record_findings(request, [f], rule="sc-002-job-launch", chart=str(inst.chart.path))
        pytest.fail(f.line(), pytrace=False)
    request.node.user_properties.append(("seconds", f"{seconds:.2f}"))
    if seconds > TIMEOUTS.sc002_job_launch:
        f = _finding(inst, kind, name, "sc-002-job-launch",
                     f"pod started {seconds:.1f}s after the Job was created, over SC-002's 30s")
        record_findings(request, [f], rule="sc-002-job-launch", chart=str(inst.chart.path))
        pytest.fail(f.line(), pytrace=False)
    try:
        state = wait_for(lambda: _job_done(inst, job), TIMEOUTS.helm_test, TIMEOUTS.poll_interval,
                         f"job {job} to finish")
    except WaitTimeout as exc:
        state = str(exc)
    log = _keep_logs(inst, job, Path(conformance_settings.reports))
    if state != "Complete":
        f = _finding(inst, kind, name, "e2e-job-complete", f"job {job} did not complete: {state} (log: {log})")
        record_findings(request, [f], rule="e2e-job-complete", chart=str(inst.chart.path))
        pytest.fail(f.line(), pytrace=False)
    plan = inst.plan
    if plan.job_log_expect and plan.job_log_expect not in log.read_text():
        f = _finding(inst, kind, name, "e2e-job-output",
                     f"job {job} completed but its log has no {plan.job_log_expect!r} (log: {log})")
        record_findings(request, [f], rule="e2e-job-output", chart=str(inst.chart.path))
        pytest.fail(f.line(), pytrace=False)
    if plan.verify is not None:
        problem = run_verify(inst.cluster, inst.release.namespace, plan.verify)
        if problem:
            f = _finding(inst, kind, name, "e2e-job-result", problem)
            record_findings(request, [f], rule="e2e-job-result", chart=str(inst.chart.path))
            pytest.fail(f.line(), pytrace=False)
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
