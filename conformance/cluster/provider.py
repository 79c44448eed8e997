"""The one provider resolver: which cluster a run uses, why, and what that provider only simulates.

`auto` means Kind when a Docker engine answers and the Kind node image is local, otherwise kwok. It never
means an existing cluster: that takes `--provider kubeconfig` with `--kubeconfig` (or `$KUBECONFIG`) and
optionally `--kube-context`, checked up front (file, YAML, context, reachability) so a bad one is one line
and exit 2 before anything is created. The CLI prints the resolved choice and the cluster fixtures build
the cluster from the same choice, so the line printed is the provider that runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from conformance.cluster.base import Cluster
from conformance.cluster.kind import KindCluster, docker_works, image_present, node_image
from conformance.cluster.kubeconfig import KubeconfigCluster
from conformance.cluster.kwok import KwokCluster
from conformance.cluster.timeouts import CLUSTER_TIMEOUTS, ClusterTimeouts
from conformance.errors import EnvError, UsageError
from conformance.tools import tool_path

ProviderName = Literal["auto", "kwok", "kind", "kubeconfig"]
PROVIDERS: tuple[ProviderName, ...] = ("auto", "kwok", "kind", "kubeconfig")

#: What each provider only simulates, and why: results that rest on it are marked `simulated`, never plain passes.
SIMULATED = {
    "kwok": "kwok runs no containers: readiness, `helm test` hook pods and Job completion are set by kwok stages",
}


@dataclass(frozen=True)
class ProviderChoice:
    """A resolved provider: its name, why it was chosen, and how to reach the cluster."""

    name: str
    why: str
    kubeconfig: str | None = None
    context: str | None = None
    kind_image: str | None = None

    @property
    def simulated(self) -> str:
        """Why this provider's container-level results are simulated ('' when they are real)."""
        return SIMULATED.get(self.name, "")


def kind_usable(image: str, timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS) -> bool:
    """True when kind is built, docker answers and the node image is already local."""
    try:
        tool_path("kind")
    except EnvError:
        return False
    return docker_works(timeouts.probe) and image_present(image, timeouts.probe)


def kubeconfig_contexts(path: Path) -> tuple[list[str], str]:
    """The context names of a kubeconfig file and its current-context; UsageError naming the file if unusable."""
    if not path.is_file():
        raise UsageError(f"kubeconfig {path}: no such file; pass --kubeconfig with an existing file")
    try:
        data: Any = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"kubeconfig {path}: not valid YAML ({first}); fix the file or pass another") from None
    if not isinstance(data, dict) or not isinstance(data.get("contexts"), list):
        raise UsageError(f"kubeconfig {path}: key `contexts` missing or not a list; pass a kubeconfig file")
    names = [str(c.get("name")) for c in data["contexts"] if isinstance(c, dict) and c.get("name")]
    return names, str(data.get("current-context") or "")


def check_kubeconfig(value: str, context: str | None, timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS) -> None:
    """The kubeconfig (a path or a KUBECONFIG-style list) exists, parses, has the context and answers."""
    names: list[str] = []
    current = ""
    for part in [p for p in value.split(os.pathsep) if p]:
        found, cur = kubeconfig_contexts(Path(part))
        names += found
        current = current or cur
    wanted = context or current
    if not wanted:
        raise UsageError(f"kubeconfig {value}: no current-context; pass --kube-context (one of {', '.join(names)})")
    if wanted not in names:
        raise UsageError(f"kubeconfig {value}: context {wanted!r} not found; use --kube-context with one of "
                         f"{', '.join(names) or '(none)'}")
    if not KubeconfigCluster(value, context, timeouts=timeouts).reachable():
        raise EnvError(f"kubeconfig {value} (context {wanted}): the API server does not answer /readyz within "
                       f"{timeouts.probe:g}s; check the cluster, --kubeconfig and --kube-context")


def resolve_provider(
    name: str,
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    probe: bool = True,
    timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS,
) -> ProviderChoice:
    """Resolve a provider name to the provider that will run; `probe` checks a kubeconfig cluster answers."""
    if name not in PROVIDERS:
        raise UsageError(f"unknown cluster provider {name!r}; use one of {', '.join(PROVIDERS)}")
    if name == "kubeconfig":
        value = kubeconfig or os.environ.get("KUBECONFIG")
        if not value:
            raise UsageError("--provider kubeconfig needs --kubeconfig FILE (or KUBECONFIG); "
                             "or use --provider kwok or kind for a cluster the harness creates")
        if probe:
            check_kubeconfig(value, context, timeouts)
        source = "--kubeconfig" if kubeconfig else "$KUBECONFIG"
        where = f"{value}" + (f", context {context}" if context else ", its current-context")
        return ProviderChoice("kubeconfig", f"chosen with --provider, an existing cluster from {source} "
                              f"({where}); the harness only deletes the namespaces it creates", value, context)
    if context:
        raise UsageError(f"--kube-context {context}: only used with --provider kubeconfig (provider is {name})")
    if name == "kwok":
        return ProviderChoice("kwok", "chosen with --provider")
    image = node_image()
    if name == "kind":
        return ProviderChoice("kind", f"chosen with --provider (node image {image})", kind_image=image)
    if kind_usable(image, timeouts):
        return ProviderChoice("kind", f"auto: docker answers and the Kind node image {image} is local",
                              kind_image=image)
    ignored = " (an existing cluster is used only with --provider kubeconfig)" if (
        kubeconfig or os.environ.get("KUBECONFIG")) else ""
    return ProviderChoice("kwok", f"auto: no usable Kind here (docker and node image {image} needed; "
                          f"`make kind-images` builds it); kwok runs the real control plane{ignored}")


def cluster_for(choice: ProviderChoice, timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS) -> Cluster:
    """The (not yet created) cluster of a resolved provider."""
    if choice.name == "kubeconfig":
        return KubeconfigCluster(choice.kubeconfig, choice.context, timeouts=timeouts)
    if choice.name == "kind":
        return KindCluster(image=choice.kind_image, timeouts=timeouts)
    return KwokCluster(timeouts=timeouts)


def provider_for(
    name: str,
    *,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS,
) -> Cluster:
    """The cluster for a provider name, resolved as `resolve_provider` does (kubeconfig checked on create)."""
    choice = resolve_provider(name, str(kubeconfig) if kubeconfig else None, context, probe=False,
                              timeouts=timeouts)
    return cluster_for(choice, timeouts)
