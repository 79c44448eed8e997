"""Reading what a release left on the cluster: workloads, events, secrets; and a dump for failures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from conformance.cluster.base import Cluster

WORKLOADS = "deployments,statefulsets,daemonsets"


def objects(cluster: Cluster, namespace: str, kinds: str, selector: str = "") -> list[dict[str, Any]]:
    """Objects of some kinds in a namespace, optionally by label selector."""
    args = ["get", kinds, "--namespace", namespace, "--output", "json"]
    if selector:
        args += ["--selector", selector]
    return list(json.loads(cluster.kubectl(*args)).get("items", []))


def not_ready(workload: dict[str, Any]) -> str:
    """Why a Deployment, StatefulSet or DaemonSet is not ready ('' when it is)."""
    kind, name = workload.get("kind"), (workload.get("metadata") or {}).get("name")
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    if kind == "DaemonSet":
        want, have = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
    else:
        want, have = spec.get("replicas", 1), status.get("readyReplicas", 0)
    return "" if have >= want else f"{kind}/{name}: {have}/{want} ready"


def pending_workloads(cluster: Cluster, namespace: str, release: str) -> list[str]:
    """Why each of a release's workloads is not ready yet (empty when all are)."""
    selector = f"app.kubernetes.io/instance={release}"
    return [r for w in objects(cluster, namespace, WORKLOADS, selector) if (r := not_ready(w))]


def _since(stamp: str, now: dt.datetime) -> float:
    return (now - dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()


def failing_readiness(cluster: Cluster, namespace: str, release: str, grace: float) -> list[str]:
    """Containers of a release running for longer than `grace` seconds whose readiness probe keeps failing,
    each with the kubelet's last probe message (a probe that never passes would otherwise wait out SC-001)."""
    now = dt.datetime.now(dt.UTC)
    probes: dict[str, str] = {}
    for e in objects(cluster, namespace, "events"):
        msg = str(e.get("message", "")).strip()
        if e.get("reason") == "Unhealthy" and msg.startswith("Readiness probe failed"):
            probes[str((e.get("involvedObject") or {}).get("name"))] = msg
    out = []
    for pod in objects(cluster, namespace, "pods", f"app.kubernetes.io/instance={release}"):
        name = str(pod["metadata"]["name"])
        if name not in probes:
            continue
        for c in (pod.get("status") or {}).get("containerStatuses") or []:
            started = ((c.get("state") or {}).get("running") or {}).get("startedAt")
            if not c.get("ready") and started and _since(str(started), now) > grace:
                out.append(f"Pod/{name} container {c.get('name')}: not ready {grace:g}s after it started: "
                           f"{probes[name]}")
    return out


def hook_logs(cluster: Cluster, namespace: str, release: str) -> list[str]:
    """`<pod>: <last log lines>` of the release's failed `helm test` hook pods."""
    out = []
    for pod in objects(cluster, namespace, "pods", f"app.kubernetes.io/instance={release}"):
        meta = pod.get("metadata") or {}
        if (meta.get("annotations") or {}).get("helm.sh/hook") != "test":
            continue
        if (pod.get("status") or {}).get("phase") != "Failed":
            continue
        proc = cluster.run_kubectl("logs", str(meta["name"]), "--namespace", namespace, "--all-containers",
                                   "--tail=20")
        text = " | ".join(line for line in (proc.stdout + proc.stderr).splitlines() if line.strip())
        out.append(f"Pod/{meta['name']} logs: {text or '(empty)'}")
    return out


def warning_events(cluster: Cluster, namespace: str, reasons: tuple[str, ...] = ("FailedCreate",)) -> list[str]:
    """Warning events with the given reasons (FailedCreate carries PodSecurity rejections)."""
    items = objects(cluster, namespace, "events")
    out = []
    for e in items:
        if e.get("type") == "Warning" and e.get("reason") in reasons:
            obj = e.get("involvedObject") or {}
            out.append(f"{obj.get('kind')}/{obj.get('name')}: {e.get('reason')}: {e.get('message', '').strip()}")
    return sorted(set(out))


def secret_data(cluster: Cluster, namespace: str, release: str) -> dict[str, dict[str, str]]:
    """The data of every Secret of a release (by the app.kubernetes.io/instance label), by name."""
    items = objects(cluster, namespace, "secrets", f"app.kubernetes.io/instance={release}")
    return {str(s["metadata"]["name"]): dict(s.get("data") or {}) for s in items}


def dump(cluster: Cluster, namespace: str, folder: Path) -> Path:
    """Write events, objects and descriptions of a namespace for a failed flow; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, args in {
        "events.txt": ["get", "events", "--namespace", namespace, "--sort-by=.lastTimestamp"],
        "objects.yaml": ["get", "all,configmaps,pvc,networkpolicies", "--namespace", namespace,
                         "--output", "yaml"],
        "describe.txt": ["describe", "all", "--namespace", namespace],
    }.items():
        proc = cluster.run_kubectl(*args)
        (folder / name).write_text(proc.stdout + proc.stderr)
    return folder
