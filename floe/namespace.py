"""The objects `floe deploy` gives each environment's namespace: labels, quota, limits and isolation.

Pure functions from an `EnvironmentTarget` to manifests; `floe.kube` applies them.
"""

from __future__ import annotations

from typing import Any

from floe.models import EnvironmentTarget

ENV_LABEL = "floe.dev/environment"
CLUSTER_LABEL = "floe.dev/cluster"
MANAGED_BY = {"app.kubernetes.io/managed-by": "floe"}
QUOTA_NAME = "floe-environment-quota"
LIMITS_NAME = "floe-environment-limits"
ISOLATION_NAME = "floe-environment-isolation"
#: Pod Security Standards level every floe namespace enforces (the charts are built for it).
PSS_LEVEL = "restricted"


def namespace_labels(target: EnvironmentTarget) -> dict[str, str]:
    """Environment, cluster group, PodSecurity enforcement and ownership labels of the namespace."""
    return {ENV_LABEL: target.environment, CLUSTER_LABEL: target.group,
            "pod-security.kubernetes.io/enforce": PSS_LEVEL, "pod-security.kubernetes.io/warn": PSS_LEVEL,
            "pod-security.kubernetes.io/audit": PSS_LEVEL, **MANAGED_BY}


def namespace(target: EnvironmentTarget) -> dict[str, Any]:
    """The Namespace."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": target.namespace, "labels": namespace_labels(target)}}


def _meta(name: str, target: EnvironmentTarget) -> dict[str, Any]:
    return {"name": name, "namespace": target.namespace,
            "labels": {ENV_LABEL: target.environment, **MANAGED_BY}}


def resource_quota(target: EnvironmentTarget) -> dict[str, Any]:
    """The ResourceQuota of the environment's preset."""
    q = target.preset.quota
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(QUOTA_NAME, target),
            "spec": {"hard": {"requests.cpu": q.requests_cpu, "requests.memory": q.requests_memory,
                              "limits.cpu": q.limits_cpu, "limits.memory": q.limits_memory,
                              "pods": str(q.pods), "persistentvolumeclaims": str(q.persistent_volume_claims)}}}


def limit_range(target: EnvironmentTarget) -> dict[str, Any]:
    """The LimitRange of the environment's preset (defaults for containers that set none)."""
    lr = target.preset.limit_range
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(LIMITS_NAME, target),
            "spec": {"limits": [{"type": "Container",
                                 "default": {"cpu": lr.default_cpu, "memory": lr.default_memory},
                                 "defaultRequest": {"cpu": lr.default_request_cpu,
                                                    "memory": lr.default_request_memory}}]}}


def isolation_policy(target: EnvironmentTarget) -> dict[str, Any]:
    """NetworkPolicy: pods of the namespace accept traffic only from namespaces of the same environment.

    Other environments' namespaces (which carry another `floe.dev/environment` value) are denied.
    Enforcement needs a network plugin that implements NetworkPolicy.
    """
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(ISOLATION_NAME, target),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {ENV_LABEL: target.environment}}}]}]}}


def namespaced_objects(target: EnvironmentTarget) -> list[dict[str, Any]]:
    """Everything floe applies inside the namespace, in order."""
    return [resource_quota(target), limit_range(target), isolation_policy(target)]
