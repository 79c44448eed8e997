"""References between rendered objects (the checks kube-score and chart-testing users rely on): a StatefulSet's
governing Service, Ingress backends, NetworkPolicy coverage, PodDisruptionBudgets and HPA targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.rules.base import WORKLOAD_KINDS, Context, Obj, Violation, pod_containers, pod_spec, rule
from conformance.rules.labels import selector_of, selects_pods_of

REPLICATED = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace", "") or "")


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def find(ctx: Context, kind: str, name: str, ns: str) -> Obj | None:
    """The rendered object of a kind and name in a namespace ('' is the release namespace)."""
    return next((o for o in ctx.objects if o.get("kind") == kind and _name(o) == name and _ns(o) == ns), None)


def selected_by(sel_obj: Obj, workload: Obj) -> bool:
    """True when an object's selector (Service, PDB, NetworkPolicy) selects a workload's pods."""
    sel = selector_of(sel_obj)
    if sel is None:
        return False
    match, exprs, _ = sel
    return selects_pods_of(match, exprs, workload)


@rule("statefulset-service", "networking", "error", kinds={"StatefulSet"})
def statefulset_service(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """A StatefulSet's serviceName names a headless Service the chart renders, selecting its pods."""
    name = str((obj.get("spec") or {}).get("serviceName") or "")
    if not name:
        return
    svc = find(ctx, "Service", name, _ns(obj))
    fix = (f"render a headless Service (clusterIP: None) named {name!r} whose selector is the StatefulSet's "
           "selectorLabels, or point spec.serviceName at the one the chart renders")
    if svc is None:
        yield Violation(f"spec.serviceName {name!r} names no Service the chart renders: pods get no stable DNS names",
                        "spec.serviceName", "missing", remediation=fix)
        return
    if str((svc.get("spec") or {}).get("clusterIP", "")) != "None":
        yield Violation(f"Service {name!r} governing the StatefulSet is not headless (clusterIP is not None)",
                        "spec.serviceName", "not-headless", remediation=f"set clusterIP: None on Service {name!r}")
    if not selected_by(svc, obj):
        yield Violation(f"Service {name!r} does not select the StatefulSet's pods", "spec.serviceName", "selector",
                        remediation=fix)


def ingress_backends(obj: Obj) -> Iterator[tuple[str, str, Any]]:
    """(path, service name, port number or name) of every Service backend of an Ingress (v1 and v1beta1)."""
    spec = obj.get("spec") or {}
    found: list[tuple[str, Any]] = []
    for key in ("defaultBackend", "backend"):
        if isinstance(spec.get(key), dict):
            found.append((f"spec.{key}", spec[key]))
    for i, r in enumerate(spec.get("rules") or []):
        for j, p in enumerate(((r or {}).get("http") or {}).get("paths") or []):
            if isinstance((p or {}).get("backend"), dict):
                found.append((f"spec.rules[{i}].http.paths[{j}].backend", p["backend"]))
    for path, b in found:
        svc = b.get("service")
        if isinstance(svc, dict):
            port = svc.get("port") or {}
            yield f"{path}.service", str(svc.get("name", "")), port.get("number", port.get("name"))
        elif b.get("serviceName"):
            yield path, str(b["serviceName"]), b.get("servicePort")


def _has_port(svc: Obj, port: Any) -> bool:
    ports = (svc.get("spec") or {}).get("ports") or []
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return any(str(p.get("port")) == str(port) for p in ports)
    return any(p.get("name") == port for p in ports)


@rule("ingress-backend", "networking", "error", kinds={"Ingress"})
def ingress_backend(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Every Ingress backend names a Service the chart renders, and a port that Service exposes."""
    for path, name, port in ingress_backends(obj):
        svc = find(ctx, "Service", name, _ns(obj))
        if svc is None:
            yield Violation(f"{path} names Service {name!r}, which the chart does not render", f"{path}.name",
                            "missing-service", remediation=f"point the backend at a Service the chart renders "
                            f"(its fullname helper), or render Service {name!r}")
        elif port is not None and not _has_port(svc, port):
            yield Violation(f"{path} uses port {port!r}, which Service {name!r} does not expose", f"{path}.port",
                            "missing-port", remediation=f"use one of Service {name!r}'s ports (number or name)")


@rule("networkpolicy-coverage", "networking", "error", kinds=WORKLOAD_KINDS)
def networkpolicy_coverage(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """When the chart renders any NetworkPolicy, every workload's pods are selected by one."""
    policies = [o for o in ctx.objects if o.get("kind") == "NetworkPolicy" and _ns(o) == _ns(obj)]
    hook = "helm.sh/hook" in ((obj.get("metadata") or {}).get("annotations") or {})
    if not policies or pod_spec(obj) is None or hook:
        return  # hook pods (helm test, migrations) run briefly, often from outside the policies' scope
    if not any(selected_by(p, obj) for p in policies):
        yield Violation(
            f"{obj.get('kind')} {_name(obj)!r}: no NetworkPolicy of the chart selects its pods, so their traffic is "
            "unrestricted while the rest of the chart's is", "spec.template.metadata.labels", "uncovered",
            remediation="render a NetworkPolicy for this component (or widen an existing policy's podSelector to "
            "its selectorLabels)")


def _hpa_targets(ctx: Context, workload: Obj) -> list[Obj]:
    out = []
    for o in ctx.objects:
        ref = (o.get("spec") or {}).get("scaleTargetRef") or {}
        if o.get("kind") == "HorizontalPodAutoscaler" and ref.get("kind") == workload.get("kind") \
                and ref.get("name") == _name(workload) and _ns(o) == _ns(workload):
            out.append(o)
    return out


def replicas_of(obj: Obj, ctx: Context) -> int:
    """The replicas a workload runs with: spec.replicas (default 1), or an HPA's minReplicas when larger."""
    spec = obj.get("spec") or {}
    value = spec.get("replicas", 1)
    replicas = value if isinstance(value, int) and not isinstance(value, bool) else 1
    for hpa in _hpa_targets(ctx, obj):
        low = (hpa.get("spec") or {}).get("minReplicas", 1)
        if isinstance(low, int):
            replicas = max(replicas, low)
    return replicas


@rule("pdb-replicated", "availability", "warning", kinds=REPLICATED)
def pdb_replicated(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """A workload with more than one replica has a PodDisruptionBudget that still lets nodes drain."""
    replicas = replicas_of(obj, ctx)
    if replicas <= 1:
        return
    pdbs = [o for o in ctx.objects if o.get("kind") == "PodDisruptionBudget" and _ns(o) == _ns(obj)
            and selected_by(o, obj)]
    if not pdbs:
        yield Violation(f"{obj.get('kind')} {_name(obj)!r} runs {replicas} replicas but no PodDisruptionBudget "
                        "selects its pods: a node drain can take them all down at once", "spec.replicas", "missing",
                        remediation="render a PodDisruptionBudget (maxUnavailable: 1) with the component's "
                        "selectorLabels when replicas > 1")
        return
    for pdb in pdbs:
        spec = pdb.get("spec") or {}
        blocks = spec.get("maxUnavailable") in (0, "0", "0%") or (
            isinstance(spec.get("minAvailable"), int) and spec["minAvailable"] >= replicas
        ) or spec.get("minAvailable") == "100%"
        if blocks:
            yield Violation(f"PodDisruptionBudget {_name(pdb)!r} allows no disruption of {replicas} replicas: "
                            "node drains and upgrades block", "spec.replicas", "blocking",
                            remediation="use maxUnavailable: 1 (or minAvailable below the replica count)")


def _needs_cpu_requests(hpa: Obj) -> bool:
    """True when the HPA scales on CPU utilisation (also its default when it names no metric)."""
    spec = hpa.get("spec") or {}
    if spec.get("targetCPUUtilizationPercentage") is not None:
        return True
    metrics = spec.get("metrics")
    if not metrics:
        return str(hpa.get("apiVersion", "")).startswith("autoscaling/")  # default: 80% CPU utilisation
    for m in metrics:
        src = (m or {}).get("resource") or (m or {}).get("containerResource") or {}
        target = src.get("target") or {}
        if src.get("name") == "cpu" and (target.get("type") == "Utilization" or "targetAverageUtilization" in src):
            return True
    return False


@rule("hpa-target", "availability", "error", kinds={"HorizontalPodAutoscaler"})
def hpa_target(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """An HPA's scaleTargetRef names a rendered workload, whose containers request CPU if it scales on CPU."""
    ref = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    target = find(ctx, kind, name, _ns(obj))
    if target is None:
        yield Violation(f"scaleTargetRef {kind}/{name} is not rendered by the chart", "spec.scaleTargetRef",
                        "missing-target", remediation="point scaleTargetRef at the workload's fullname (same kind)")
        return
    if not _needs_cpu_requests(obj):
        return
    for c, _, fld in pod_containers(target):
        if fld != "containers":
            continue
        if not ((c.get("resources") or {}).get("requests") or {}).get("cpu"):
            cname = str(c.get("name", ""))
            yield Violation(f"{kind}/{name} container {cname!r} requests no CPU, so CPU utilisation is undefined "
                            "and the HPA cannot scale", "spec.metrics", "cpu-requests", cname,
                            remediation=f"set resources.requests.cpu for {cname!r} in the chart's values")
