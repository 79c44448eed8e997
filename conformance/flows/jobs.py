"""Launching a Job (or a Job from a CronJob) and timing how long until its pod runs (SC-002)."""

from __future__ import annotations

import datetime as dt
import json

from conformance.chart import Chart
from conformance.cluster.base import Cluster
from conformance.cluster.timeouts import wait_for
from conformance.render.helm_cli import render


def launchable_jobs(chart: Chart, kube_version: str) -> list[tuple[str, str]]:
    """(kind, name) of every Job and CronJob the chart renders by default, helm hooks excluded."""
    result = render(chart, chart.scenarios[0], kube_version)
    return [(m.kind, m.name) for m in result.manifests if m.kind in ("Job", "CronJob")
            and "helm.sh/hook" not in ((m.obj.get("metadata") or {}).get("annotations") or {})]


def launch_from_cronjob(cluster: Cluster, namespace: str, cronjob: str, job: str) -> None:
    """Create a Job from a CronJob's template, as `kubectl create job --from=cronjob/NAME` does."""
    cluster.kubectl("create", "job", job, f"--from=cronjob/{cronjob}", "--namespace", namespace)


def pod_started(cluster: Cluster, namespace: str, job: str) -> str:
    """The phase of the job's pod once it is Running or finished ('' while pending or absent)."""
    out = cluster.kubectl("get", "pods", "--namespace", namespace, "--selector", f"job-name={job}",
                          "--output", "json")
    for pod in json.loads(out).get("items", []):
        phase = str((pod.get("status") or {}).get("phase", ""))
        if phase in ("Running", "Succeeded", "Failed"):
            return phase
    return ""


def _when(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def launch_seconds(cluster: Cluster, namespace: str, job: str) -> float:
    """Seconds from the Job's creation to its first pod's start, as the API server recorded them."""
    created = json.loads(cluster.kubectl("get", "job", job, "--namespace", namespace, "--output", "json"))
    pods = json.loads(cluster.kubectl("get", "pods", "--namespace", namespace, "--selector", f"job-name={job}",
                                      "--output", "json")).get("items", [])
    starts = [_when(p["status"]["startTime"]) for p in pods if (p.get("status") or {}).get("startTime")]
    return (min(starts) - _when(created["metadata"]["creationTimestamp"])).total_seconds() if starts else -1.0


def time_to_start(cluster: Cluster, namespace: str, job: str, timeout: float, interval: float) -> tuple[float, str]:
    """Wait until the job's pod runs (or finished); return creation-to-start seconds and the phase reached."""
    phase = wait_for(lambda: pod_started(cluster, namespace, job), timeout, interval,
                     f"a pod of job {job} to start")
    return launch_seconds(cluster, namespace, job), phase
