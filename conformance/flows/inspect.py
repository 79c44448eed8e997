"""Reading what a release left on the cluster: workloads, events, secrets; and a dump for failures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from conformance.cluster.base import Cluster
from conformance.cluster.watch import State, stamp

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


def rolled_out(workload: dict[str, Any]) -> str:
    """Why a workload's controller has not yet rolled out its latest spec ('' when it has)."""
    kind, name = workload.get("kind"), (workload.get("metadata") or {}).get("name")
    meta, spec, status = workload.get("metadata") or {}, workload.get("spec") or {}, workload.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return f"{kind}/{name}: controller has not seen generation {meta.get('generation')} yet"
    if kind == "DaemonSet":
        want, updated = status.get("desiredNumberScheduled", 0), status.get("updatedNumberScheduled", 0)
    else:
        want, updated = spec.get("replicas", 1), status.get("updatedReplicas", 0)
    return "" if updated >= want else f"{kind}/{name}: {updated}/{want} updated"


def generations(cluster: Cluster, namespace: str, workloads: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The current metadata.generation of each workload, read once from the API right after a helm step (so a
    wait never mistakes the watch's copy from before the step for the rolled-out result)."""
    if not workloads:
        return {}
    out = cluster.kubectl("get", *[f"{k.lower()}/{n}" for k, n in workloads], "--namespace", namespace,
                          "--output", "json", "--ignore-not-found")
    data = json.loads(out) if out.strip() else {}
    items = data.get("items", [data]) if data else []
    return {(str(i["kind"]), str(i["metadata"]["name"])): int(i["metadata"].get("generation") or 0) for i in items}


def pending(state: State, expected: dict[tuple[str, str], int]) -> list[str]:
    """Why each expected workload (kind, name -> generation at least) is not rolled out and ready yet."""
    out = []
    for (kind, name), generation in sorted(expected.items()):
        w = state.objects[kind].get(name)
        if w is None:
            out.append(f"{kind}/{name}: not seen yet")
            continue
        seen = int((w.get("metadata") or {}).get("generation") or 0)
        if seen < generation:
            out.append(f"{kind}/{name}: generation {generation} not seen yet")
        elif r := rolled_out(w) or not_ready(w):
            out.append(r)
    return out


def readiness_failures(state: State, release: str, grace: float) -> list[str]:
    """Containers of a release running longer than `grace` seconds whose readiness probe keeps failing, each
    with the kubelet's last probe message (a probe that never passes would otherwise wait out SC-001)."""
    now = dt.datetime.now(dt.UTC).timestamp()
    probes = {str((e.get("involvedObject") or {}).get("name")): str(e.get("message", "")).strip()
              for e in state.of("Event")
              if e.get("reason") == "Unhealthy" and str(e.get("message", "")).startswith("Readiness probe failed")}
    out = []
    for pod in state.of("Pod"):
        meta = pod.get("metadata") or {}
        name = str(meta.get("name"))
        if name not in probes or (meta.get("labels") or {}).get("app.kubernetes.io/instance") != release:
            continue
        for c in (pod.get("status") or {}).get("containerStatuses") or []:
            started = ((c.get("state") or {}).get("running") or {}).get("startedAt")
            if not c.get("ready") and started and now - stamp(started) > grace:
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
    """Write events, objects, descriptions and every container's logs (the previous run's too) of a namespace
    for a failed flow; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, args in {
        "events.txt": ["get", "events", "--namespace", namespace, "--sort-by=.lastTimestamp"],
        "objects.yaml": ["get", "all,configmaps,pvc,networkpolicies,events", "--namespace", namespace,
                         "--output", "yaml"],
        "describe.txt": ["describe", "all", "--namespace", namespace],
    }.items():
        proc = cluster.run_kubectl(*args)
        (folder / name).write_text(proc.stdout + proc.stderr)
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    for pod in objects(cluster, namespace, "pods"):
        pod_name = str(pod["metadata"]["name"])
        spec = pod.get("spec") or {}
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            for previous in (False, True):
                args = ["logs", pod_name, "--namespace", namespace, "--container", str(c["name"]), "--timestamps"]
                proc = cluster.run_kubectl(*args, *(["--previous"] if previous else []))
                if proc.returncode == 0 or not previous:
                    suffix = ".previous.log" if previous else ".log"
                    (logs / f"{pod_name}_{c['name']}{suffix}").write_text(proc.stdout + proc.stderr)
    return folder
