"""`conformance cluster create|delete`: the harness's hermetic clusters, kept running for people to deploy into."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from conformance.cluster import KindCluster, KwokCluster, keep_after_exit
from conformance.cluster.base import Cluster
from conformance.errors import UsageError

#: Providers a standalone cluster can come from (a kubeconfig cluster already exists; `auto` would hide the choice).
CREATABLE = ("kwok", "kind")
NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


def _cluster(provider: str, name: str) -> Cluster:
    if not NAME.fullmatch(name):
        raise UsageError(f"--name {name}: not a cluster name; use lower-case letters, digits and '-', "
                         "starting with a letter, at most 40 characters")
    if provider == "kwok":
        return KwokCluster(name)
    if provider == "kind":
        return KindCluster(name)
    raise UsageError(f"--provider {provider}: use one of {', '.join(CREATABLE)}")


def existing(name: str) -> list[str]:
    """Providers that hold a cluster called `name` made by `cluster create` (their directory is there)."""
    tmp = Path(tempfile.gettempdir())
    return [p for p in CREATABLE if (tmp / f"{p}-{name}").exists()]


def create(provider: str, name: str, kubeconfig_out: Path) -> str:
    """Create the cluster, write its kubeconfig to `kubeconfig_out`, leave it running; a line saying so."""
    cluster = _cluster(provider, name)
    if existing(name):
        raise UsageError(f"--name {name}: a {existing(name)[0]} cluster of that name exists; "
                         f"run `conformance cluster delete --name {name}` first or pick another name")
    if not kubeconfig_out.parent.is_dir():
        raise UsageError(f"--kubeconfig-out {kubeconfig_out}: folder {kubeconfig_out.parent} does not exist")
    cluster.create()  # on failure or Ctrl-C, what was started is deleted before the error surfaces
    try:
        shutil.copyfile(cluster.kubeconfig, kubeconfig_out)
    except OSError:
        cluster.delete()
        raise
    # Created for the user: this process's exit must not delete it (`conformance cluster delete` does).
    keep_after_exit(cluster)
    context = cluster.context or f"{provider}-{name}"
    return (f"cluster {name} ({provider}) is ready: kubeconfig {kubeconfig_out}, context {context}; "
            f"delete it with `conformance cluster delete --name {name}`")


def delete(name: str, provider: str | None = None) -> str:
    """Delete a cluster made by `cluster create`; UsageError if there is none of that name."""
    found = [provider] if provider else existing(name)
    if not found or (provider and provider not in existing(name)):
        raise UsageError(f"--name {name}: no cluster of that name was created here; nothing to delete")
    for p in found:
        _cluster(p, name).delete()
    return f"cluster {name} ({', '.join(found)}) deleted"
