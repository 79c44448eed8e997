"""Launching a Job (or a Job from a CronJob) and timing how long until its first container runs (SC-002).

The time is taken from the namespace watch (the Job's ADDED event to the first pod update that shows a
container running or terminated), so it has sub-second resolution and includes image pulls; the API's own
timestamps (whole seconds) are kept beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.chart import Chart
from conformance.cluster.base import Cluster
from conformance.cluster.watch import State, stamp
from conformance.render.helm_cli import render


def launchable_jobs(chart: Chart, kube_version: str) -> list[tuple[str, str]]:
    """(kind, name) of every Job and CronJob the chart renders by default, helm hooks excluded."""
    result = render(chart, chart.scenarios[0], kube_version)
    return [(m.kind, m.name) for m in result.manifests if m.kind in ("Job", "CronJob")
            and "helm.sh/hook" not in ((m.obj.get("metadata") or {}).get("annotations") or {})]


def launch_from_cronjob(cluster: Cluster, namespace: str, cronjob: str, job: str) -> None:
    """Create a Job from a CronJob's template, as `kubectl create job --from=cronjob/NAME` does."""
    cluster.kubectl("create", "job", job, f"--from=cronjob/{cronjob}", "--namespace", namespace)


@dataclass(frozen=True)
class Launch:
    """How long a Job took from creation to its first running container, seen two ways."""

    #: Job seen created -> a container seen running or terminated, from watch events (sub-second)
    seconds: float
    #: the same from the API's own timestamps (creationTimestamp -> containerStatuses startedAt, whole seconds)
    api_seconds: float
    pod: str


def job_pods(state: State, job: str) -> list[dict[str, Any]]:
    """The pods of a Job (by the job-name label the Job controller adds)."""
    out = []
    for pod in state.of("Pod"):
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if job in (labels.get("batch.kubernetes.io/job-name"), labels.get("job-name")):
            out.append(pod)
    return out


def container_start(pod: dict[str, Any]) -> float:
    """The earliest startedAt of a pod's running or terminated containers (epoch seconds; 0 when none)."""
    starts = []
    for c in (pod.get("status") or {}).get("containerStatuses") or []:
        state = c.get("state") or {}
        started = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        if started:
            starts.append(stamp(started))
    return min(starts) if starts else 0.0


def launched(state: State, job: str) -> Launch | None:
    """The Job's launch once a container of one of its pods has started (None before that)."""
    seen = state.first_seen.get(("Job", job))
    pods = [(state.started[p["metadata"]["name"]], p) for p in job_pods(state, job)
            if p["metadata"]["name"] in state.started]
    if seen is None or not pods:
        return None
    at, pod = min(pods, key=lambda item: item[0])
    created = stamp((state.objects["Job"].get(job, {}).get("metadata") or {}).get("creationTimestamp"))
    api = container_start(pod) - created if created else -1.0
    return Launch(max(at - seen, 0.0), api, str(pod["metadata"]["name"]))


def job_outcome(state: State, job: str) -> str:
    """`Complete` or `Failed` once the Job has finished ('' while it runs)."""
    for c in (state.objects["Job"].get(job, {}).get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return ""
