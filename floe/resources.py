"""What a release asks of its namespace's quota: summed container requests of the rendered workloads."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity

from floe.models import EnvironmentTarget


def quantity(text: str) -> Decimal:
    """A Kubernetes quantity (`500m`, `1Gi`) as a number."""
    return Decimal(parse_quantity(text))  # type: ignore[no-untyped-call]


#: Resource names compared with the quota's hard limits.
RESOURCES = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def _pod_spec(obj: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
    """The pod spec of a workload and how many of its pods run at once."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        return spec, 1
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        return spec.get("template", {}).get("spec"), int(spec.get("replicas", 1))
    if kind == "Job":
        return spec.get("template", {}).get("spec"), int(spec.get("parallelism", 1))
    if kind == "CronJob":
        job = spec.get("jobTemplate", {}).get("spec", {})
        return job.get("template", {}).get("spec"), int(job.get("parallelism", 1))
    return None, 0


def pod_requests(pod: dict[str, Any]) -> dict[str, Decimal]:
    """A pod's effective requests and limits: sum of containers, or the largest init container if larger."""
    def total(containers: Iterable[dict[str, Any]], how: str) -> dict[str, Decimal]:
        out = dict.fromkeys(RESOURCES, Decimal(0))
        for c in containers:
            res = c.get("resources") or {}
            for name in RESOURCES:
                section, key = name.split(".")
                value = (res.get(section) or {}).get(key)
                if value is not None:
                    q = quantity(str(value))
                    out[name] = out[name] + q if how == "sum" else max(out[name], q)
        return out

    main, init = total(pod.get("containers", []), "sum"), total(pod.get("initContainers", []), "max")
    return {name: max(main[name], init[name]) for name in RESOURCES}


def requested(objects: Iterable[dict[str, Any]]) -> tuple[dict[str, Decimal], int]:
    """Requests and limits of every workload at full scale, and the number of pods."""
    out = dict.fromkeys(RESOURCES, Decimal(0))
    pods = 0
    for obj in objects:
        hook = ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
        if "test" in hook:  # `helm test` pods run later, on demand, not as part of the release
            continue
        spec, count = _pod_spec(obj)
        if spec is None:
            continue
        pods += count
        for name, value in pod_requests(spec).items():
            out[name] += value * count
    return out, pods


def quota_shortfall(target: EnvironmentTarget, objects: list[dict[str, Any]],
                    used: dict[str, Decimal] | None = None) -> list[str]:
    """What the release would need beyond the namespace quota (minus what other pods use); empty if it fits."""
    q = target.preset.quota
    hard = {"requests.cpu": quantity(q.requests_cpu), "requests.memory": quantity(q.requests_memory),
            "limits.cpu": quantity(q.limits_cpu), "limits.memory": quantity(q.limits_memory)}
    need, pods = requested(objects)
    used = used or {}
    problems = [f"{name} {need[name].normalize()} > {(hard[name] - used.get(name, Decimal(0))).normalize()} free of "
                f"{hard[name].normalize()} (preset {target.preset_name})"
                for name in RESOURCES if need[name] > hard[name] - used.get(name, Decimal(0))]
    if pods > q.pods - int(used.get("pods", 0)):
        problems.append(f"pods {pods} > {q.pods - int(used.get('pods', 0))} free of {q.pods}")
    return problems
