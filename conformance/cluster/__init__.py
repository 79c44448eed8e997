"""Cluster providers for the harness's cluster flows: kwok (default here), Kind, or an existing kubeconfig."""

from conformance.cluster._cleanup import keep as keep_after_exit
from conformance.cluster.base import Cluster, KubectlError, random_name
from conformance.cluster.kind import KindCluster
from conformance.cluster.kubeconfig import KubeconfigCluster
from conformance.cluster.kwok import KwokCluster
from conformance.cluster.provider import PROVIDERS, ProviderChoice, cluster_for, provider_for, resolve_provider
from conformance.cluster.timeouts import CLUSTER_TIMEOUTS, ClusterTimeouts, WaitTimeout, wait_for

__all__ = [
    "CLUSTER_TIMEOUTS",
    "PROVIDERS",
    "Cluster",
    "ClusterTimeouts",
    "KindCluster",
    "KubeconfigCluster",
    "KubectlError",
    "KwokCluster",
    "ProviderChoice",
    "WaitTimeout",
    "cluster_for",
    "keep_after_exit",
    "provider_for",
    "random_name",
    "resolve_provider",
    "wait_for",
]
