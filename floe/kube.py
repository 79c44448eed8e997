"""The Kubernetes API through the official client: apply namespace objects, read workloads, pods and events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from conformance.timeouts import TIMEOUTS
from floe.errors import FloeError
from floe.helm import Kube
from floe.resources import RESOURCES, pod_requests

INSTANCE = "app.kubernetes.io/instance"


def api(kube: Kube) -> client.ApiClient:
    """An API client for the kube context; FloeError (exit 2) if the context is unknown or the cluster is down."""
    try:
        api_client: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kube.kubeconfig or None, context=kube.context)
    except (ConfigException, OSError, TypeError) as exc:
        raise FloeError(f"kube context {kube.context!r}: {exc}; set --kubeconfig (or KUBECONFIG) to a file with "
                        "that context, or fix the cluster mapping's kubeContext") from exc
    try:
        client.VersionApi(api_client).get_code(_request_timeout=TIMEOUTS.probe)
    except (urllib3.exceptions.HTTPError, ApiException, OSError) as exc:
        raise FloeError(f"kube context {kube.context!r}: cluster unreachable ({type(exc).__name__}); start it or fix "
                        "the kubeconfig's server address") from exc
    return api_client


def apply(api_client: client.ApiClient, obj: dict[str, Any]) -> str:
    """Create `obj`, or replace its spec/labels if it exists; 'created' or 'configured'."""
    kind, meta = obj["kind"], obj["metadata"]
    name, ns = meta["name"], meta.get("namespace")
    core, net = client.CoreV1Api(api_client), client.NetworkingV1Api(api_client)
    ops: dict[str, tuple[Any, Any, Any]] = {
        "Namespace": (core.read_namespace, core.create_namespace, core.patch_namespace),
        "ResourceQuota": (core.read_namespaced_resource_quota, core.create_namespaced_resource_quota,
                          core.replace_namespaced_resource_quota),
        "LimitRange": (core.read_namespaced_limit_range, core.create_namespaced_limit_range,
                       core.replace_namespaced_limit_range),
        "NetworkPolicy": (net.read_namespaced_network_policy, net.create_namespaced_network_policy,
                          net.replace_namespaced_network_policy),
    }
    read, create, update = ops[kind]
    scoped = (name,) if ns is None else (name, ns)
    try:
        current = read(*scoped)
    except ApiException as exc:
        if exc.status != 404:
            raise _api_error(f"{kind}/{name}", exc) from exc
        try:
            create(*(() if ns is None else (ns,)), obj)
        except ApiException as exc2:
            raise _api_error(f"{kind}/{name}", exc2) from exc2
        return "created"
    body = dict(obj)
    if kind != "Namespace":
        body["metadata"] = {**meta, "resourceVersion": current.metadata.resource_version}
    try:
        update(*scoped, body)
    except ApiException as exc:
        raise _api_error(f"{kind}/{name}", exc) from exc
    return "configured"


def _api_error(what: str, exc: ApiException) -> FloeError:
    return FloeError(f"{what}: the API server refused it (HTTP {exc.status} {exc.reason}); check your access to the "
                     "namespace")


def namespace_exists(api_client: client.ApiClient, name: str) -> bool:
    """True when the namespace exists."""
    try:
        client.CoreV1Api(api_client).read_namespace(name)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise _api_error(f"Namespace/{name}", exc) from exc
    return True


def used_by_others(api_client: client.ApiClient, namespace: str, release: str) -> dict[str, Decimal]:
    """Requests, limits and pod count of live pods in the namespace that are not the release's."""
    out = dict.fromkeys(RESOURCES, Decimal(0))
    count = 0
    for pod in _items(api_client, client.CoreV1Api(api_client).list_namespaced_pod(namespace)):
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") or (pod["metadata"].get("labels") or {}).get(INSTANCE) == release:
            continue
        count += 1
        for name, value in pod_requests(pod.get("spec") or {}).items():
            out[name] += value
    return {**out, "pods": Decimal(count)}


@dataclass(frozen=True)
class Workload:
    """One workload's progress: ready out of desired, updated (rollout), done, and a failure if any."""

    kind: str
    name: str
    ready: int
    desired: int
    updated: int
    done: bool
    failure: str = ""

    @property
    def percent(self) -> int:
        """Rollout percent: updated replicas (or completed runs) out of desired."""
        return 100 if self.desired == 0 else min(100, round(100 * self.updated / self.desired))


def _items(api_client: client.ApiClient, resp: Any) -> list[dict[str, Any]]:
    """A list response as plain dicts in the API's own (camelCase) spelling."""
    data: dict[str, Any] = api_client.sanitize_for_serialization(resp)  # type: ignore[no-untyped-call]
    return list(data.get("items") or [])


def workloads(api_client: client.ApiClient, namespace: str, release: str) -> list[Workload]:
    """The release's Deployments, StatefulSets and Jobs with their progress."""
    sel = f"{INSTANCE}={release}"
    apps, batch = client.AppsV1Api(api_client), client.BatchV1Api(api_client)
    out: list[Workload] = []
    for kind, lister in (("Deployment", apps.list_namespaced_deployment),
                         ("StatefulSet", apps.list_namespaced_stateful_set)):
        for obj in _items(api_client, lister(namespace, label_selector=sel)):
            want = int(obj["spec"].get("replicas", 1))
            st = obj.get("status") or {}
            ready, updated = int(st.get("readyReplicas", 0)), int(st.get("updatedReplicas", 0))
            current = int(st.get("observedGeneration", 0)) >= int(obj["metadata"].get("generation", 0))
            out.append(Workload(kind, obj["metadata"]["name"], ready, want, updated,
                                current and ready >= want and updated >= want))
    for job in _items(api_client, batch.list_namespaced_job(namespace, label_selector=sel)):
        want = int(job["spec"].get("completions") or 1)
        st = job.get("status") or {}
        conds = {c["type"]: c for c in st.get("conditions") or [] if c.get("status") == "True"}
        failure = ""
        if "Failed" in conds:
            failure = (f"Job {job['metadata']['name']} failed: {conds['Failed'].get('reason')}: "
                       f"{conds['Failed'].get('message')}")
        succeeded = int(st.get("succeeded", 0))
        out.append(Workload("Job", job["metadata"]["name"], succeeded + int(st.get("ready", 0)), want, succeeded,
                            "Complete" in conds or "SuccessCriteriaMet" in conds, failure))
    return sorted(out, key=lambda w: (w.kind, w.name))


def classify(reason: str, message: str) -> str | None:
    """Why a deploy cannot succeed, from one event's reason and message; None if the event is harmless."""
    text = f"{reason} {message}"
    if "violates PodSecurity" in message:
        return f"PodSecurity rejection: {message}"
    if "exceeded quota" in message or "forbidden: failed quota" in message:
        return f"quota exceeded: {message}"
    if reason in ("ErrImagePull", "ImagePullBackOff", "InspectFailed") or "Failed to pull image" in message \
            or "Back-off pulling image" in message:
        return f"image pull: {message}"
    if "Back-off restarting failed container" in message or "CrashLoopBackOff" in text:
        return f"crash loop: {message}"
    if reason == "FailedCreate":
        return f"cannot create pods: {message}"
    return None


def pod_failures(api_client: client.ApiClient, namespace: str, release: str) -> list[str]:
    """Container states of the release's pods that will not recover by waiting."""
    out = []
    pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector=f"{INSTANCE}={release}")
    for pod in _items(api_client, pods):
        st = pod.get("status") or {}
        for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason", "")
            if reason in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                          "InvalidImageName"):
                why = classify(reason, waiting.get("message") or reason) or reason
                out.append(f"pod {pod['metadata']['name']} container {cs['name']}: {why}")
    return out


def event_failures(api_client: client.ApiClient, namespace: str, since: dt.datetime) -> list[str]:
    """Failure reasons from the namespace's Warning events since `since` (oldest first, deduplicated)."""
    events = client.CoreV1Api(api_client).list_namespaced_event(namespace, field_selector="type=Warning")
    out: list[str] = []
    for ev in sorted(_items(api_client, events), key=_event_time):
        if _event_time(ev) < since:
            continue
        why = classify(ev.get("reason") or "", ev.get("message") or "")
        obj = ev.get("involvedObject") or {}
        line = f"{obj.get('kind')}/{obj.get('name')}: {why}" if why else ""
        if line and line not in out:
            out.append(line)
    return out


def _event_time(ev: dict[str, Any]) -> dt.datetime:
    stamp = ev.get("lastTimestamp") or ev.get("eventTime") or ev["metadata"].get("creationTimestamp")
    if not stamp:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))


def set_paused(api_client: client.ApiClient, namespace: str, release: str, paused: bool) -> list[str]:
    """Pause or resume the release's Deployment rollouts and suspend or resume its CronJobs; what changed."""
    apps, batch = client.AppsV1Api(api_client), client.BatchV1Api(api_client)
    sel = f"{INSTANCE}={release}"
    changed = []
    for dep in _items(api_client, apps.list_namespaced_deployment(namespace, label_selector=sel)):
        apps.patch_namespaced_deployment(dep["metadata"]["name"], namespace, {"spec": {"paused": paused}})
        changed.append(f"Deployment/{dep['metadata']['name']}")
    for cj in _items(api_client, batch.list_namespaced_cron_job(namespace, label_selector=sel)):
        batch.patch_namespaced_cron_job(cj["metadata"]["name"], namespace, {"spec": {"suspend": paused}})
        changed.append(f"CronJob/{cj['metadata']['name']}")
    return changed


def namespace_summary(api_client: client.ApiClient, name: str) -> dict[str, Any]:
    """Labels of the namespace and its quotas' hard and used figures."""
    core = client.CoreV1Api(api_client)
    ns: dict[str, Any] = api_client.sanitize_for_serialization(  # type: ignore[no-untyped-call]
        core.read_namespace(name))
    quotas = _items(api_client, core.list_namespaced_resource_quota(name))
    return {"labels": dict(ns["metadata"].get("labels") or {}),
            "quota": {q["metadata"]["name"]: {"hard": dict((q.get("status") or {}).get("hard") or {}),
                                              "used": dict((q.get("status") or {}).get("used") or {})}
                      for q in quotas}}
