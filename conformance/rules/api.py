"""Deprecated and removed API versions for the target Kubernetes version (what Pluto checks), from the
Kubernetes deprecated API migration guide."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from conformance.rules.base import Context, Obj, Violation, rule

Version = tuple[int, int]


@dataclass(frozen=True)
class Deprecation:
    """An apiVersion of a kind: deprecated from one release, removed (no longer served) from another."""

    deprecated: Version
    removed: Version | None
    replacement: str


def _d(dep: str, rem: str | None, repl: str) -> Deprecation:
    def v(s: str) -> Version:
        major, minor = s.split(".")
        return int(major), int(minor)
    return Deprecation(v(dep), v(rem) if rem else None, repl)


_V1_22 = {
    ("rbac.authorization.k8s.io/v1beta1", k): _d("1.17", "1.22", "rbac.authorization.k8s.io/v1")
    for k in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
} | {
    ("admissionregistration.k8s.io/v1beta1", k): _d("1.16", "1.22", "admissionregistration.k8s.io/v1")
    for k in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
} | {
    ("storage.k8s.io/v1beta1", k): _d("1.19", "1.22", "storage.k8s.io/v1")
    for k in ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment")
}
#: (apiVersion, kind) -> deprecation; the kinds the charts of this world render.
DEPRECATIONS: dict[tuple[str, str], Deprecation] = {
    **{("extensions/v1beta1", k): _d("1.8", "1.16", "apps/v1") for k in ("Deployment", "DaemonSet", "ReplicaSet")},
    ("extensions/v1beta1", "NetworkPolicy"): _d("1.9", "1.16", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy"): _d("1.10", "1.16", "policy/v1beta1 (itself removed in 1.25)"),
    ("extensions/v1beta1", "Ingress"): _d("1.14", "1.22", "networking.k8s.io/v1"),
    **{("apps/v1beta1", k): _d("1.9", "1.16", "apps/v1") for k in ("Deployment", "StatefulSet", "ReplicaSet")},
    **{("apps/v1beta2", k): _d("1.9", "1.16", "apps/v1")
       for k in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet")},
    ("networking.k8s.io/v1beta1", "Ingress"): _d("1.19", "1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass"): _d("1.19", "1.22", "networking.k8s.io/v1"),
    **_V1_22,
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"): _d("1.16", "1.22", "apiextensions.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): _d("1.14", "1.22", "scheduling.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"): _d("1.19", "1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "Lease"): _d("1.19", "1.22", "coordination.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "APIService"): _d("1.19", "1.22", "apiregistration.k8s.io/v1"),
    ("batch/v1beta1", "CronJob"): _d("1.21", "1.25", "batch/v1"),
    ("policy/v1beta1", "PodDisruptionBudget"): _d("1.21", "1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"): _d("1.21", "1.25", "Pod Security Admission (namespace labels)"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): _d("1.22", "1.25", "autoscaling/v2"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): _d("1.23", "1.26", "autoscaling/v2"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): _d("1.21", "1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event"): _d("1.22", "1.25", "events.k8s.io/v1"),
    ("node.k8s.io/v1beta1", "RuntimeClass"): _d("1.22", "1.25", "node.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): _d("1.24", "1.27", "storage.k8s.io/v1"),
    **{("flowcontrol.apiserver.k8s.io/v1beta1", k): _d("1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1")
       for k in ("FlowSchema", "PriorityLevelConfiguration")},
    **{("flowcontrol.apiserver.k8s.io/v1beta2", k): _d("1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1")
       for k in ("FlowSchema", "PriorityLevelConfiguration")},
    **{("flowcontrol.apiserver.k8s.io/v1beta3", k): _d("1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1")
       for k in ("FlowSchema", "PriorityLevelConfiguration")},
    ("v1", "Endpoints"): _d("1.33", None, "discovery.k8s.io/v1 EndpointSlice"),
}


def target(kube_version: str) -> Version:
    """The target Kubernetes minor version of a context ("1.35", "v1.33.2")."""
    m = re.match(r"^v?(\d+)\.(\d+)", kube_version.strip())
    return (int(m[1]), int(m[2])) if m else (1, 99)


def deprecation_of(obj: Obj) -> Deprecation | None:
    """The deprecation of an object's apiVersion and kind, if any."""
    return DEPRECATIONS.get((str(obj.get("apiVersion", "")), str(obj.get("kind", ""))))


def removed_at(obj: Obj, kube_version: str) -> Deprecation | None:
    """The deprecation, when the object's apiVersion is no longer served by the target version."""
    dep = deprecation_of(obj)
    return dep if dep and dep.removed is not None and target(kube_version) >= dep.removed else None


def _v(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@rule("api-removed", "api", "error")
def api_removed(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """The object's apiVersion is still served by the target Kubernetes version (not removed)."""
    dep = removed_at(obj, ctx.kube_version)
    if dep is not None and dep.removed is not None:
        yield Violation(f"{obj.get('apiVersion')} {obj.get('kind')} was removed in Kubernetes {_v(dep.removed)}; "
                        f"the target {ctx.kube_version} rejects it", "apiVersion", "removed",
                        remediation=f"use {dep.replacement} (gate on .Capabilities.APIVersions only if older "
                        "clusters must still be served)")


@rule("api-deprecated", "api", "warning")
def api_deprecated(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """The object's apiVersion is not deprecated at the target Kubernetes version."""
    dep = deprecation_of(obj)
    if dep is None or removed_at(obj, ctx.kube_version) or target(ctx.kube_version) < dep.deprecated:
        return
    until = f", removed in {_v(dep.removed)}" if dep.removed else ""
    yield Violation(f"{obj.get('apiVersion')} {obj.get('kind')} is deprecated since Kubernetes "
                    f"{_v(dep.deprecated)}{until}", "apiVersion", "deprecated",
                    remediation=f"use {dep.replacement}")
