"""Choosing a cluster provider: `auto`, `kwok`, `kind` or `kubeconfig`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from conformance.cluster.base import Cluster
from conformance.cluster.kind import KindCluster, docker_works, image_present, node_image
from conformance.cluster.kubeconfig import KubeconfigCluster
from conformance.cluster.kwok import KwokCluster
from conformance.cluster.timeouts import CLUSTER_TIMEOUTS, ClusterTimeouts
from conformance.errors import EnvError, UsageError
from conformance.tools import tool_path

ProviderName = Literal["auto", "kwok", "kind", "kubeconfig"]
PROVIDERS: tuple[ProviderName, ...] = ("auto", "kwok", "kind", "kubeconfig")


def kind_usable(image: str, timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS) -> bool:
    """True when kind is built, docker answers and the node image is already local."""
    try:
        tool_path("kind")
    except EnvError:
        return False
    return docker_works(timeouts.probe) and image_present(image, timeouts.probe)


def provider_for(
    name: str,
    *,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    kind_image: str | None = None,
    timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS,
) -> Cluster:
    """The cluster for a provider name; `auto`: a reachable given kubeconfig, else usable Kind, else kwok."""
    if name not in PROVIDERS:
        raise UsageError(f"unknown cluster provider {name!r}; use one of {', '.join(PROVIDERS)}")
    if name == "kwok":
        return KwokCluster(timeouts=timeouts)
    if name == "kind":
        return KindCluster(image=kind_image, timeouts=timeouts)
    if name == "kubeconfig":
        return KubeconfigCluster(kubeconfig, context, timeouts=timeouts)
    given = kubeconfig or os.environ.get("KUBECONFIG")
    if given:
        existing = KubeconfigCluster(given, context, timeouts=timeouts)
        if existing.reachable():
            return existing
    image = kind_image or node_image()
    if kind_usable(image, timeouts):
        return KindCluster(image=image, timeouts=timeouts)
    return KwokCluster(timeouts=timeouts)
