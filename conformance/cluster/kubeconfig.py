"""An existing cluster reached through a kubeconfig (and optional context): never created nor deleted."""

from __future__ import annotations

import os
from pathlib import Path

from conformance.cluster.base import Cluster
from conformance.cluster.timeouts import CLUSTER_TIMEOUTS, ClusterTimeouts
from conformance.errors import EnvError


def default_kubeconfig() -> str | None:
    """$KUBECONFIG if set, else ~/.kube/config if it exists, else None."""
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    home = Path.home() / ".kube" / "config"
    return str(home) if home.is_file() else None


class KubeconfigCluster(Cluster):
    """A cluster someone else runs; `create()` only checks that it answers, `delete()` does nothing."""

    def __init__(
        self,
        kubeconfig: str | Path | None = None,
        context: str | None = None,
        *,
        timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS,
    ) -> None:
        """Use `kubeconfig` (a path, or a KUBECONFIG-style list) and `context`; default $KUBECONFIG."""
        super().__init__()
        value = str(kubeconfig) if kubeconfig else default_kubeconfig()
        if not value:
            raise EnvError("no kubeconfig: pass --kubeconfig or set KUBECONFIG (or use --provider kwok)")
        self._value = value
        self.kubeconfig = Path(value.split(os.pathsep)[0])
        self.context = context
        self.name = context or "current-context"
        self.timeouts = timeouts

    def kubeconfig_env(self) -> str:
        """The KUBECONFIG value as given (it may list several files)."""
        return self._value

    def version(self) -> str:
        """The server's `kubectl version` output (raises when it cannot be reached)."""
        return self.kubectl(
            "version",
            "-o",
            "json",
            f"--request-timeout={self.timeouts.probe:g}s",
            timeout=self.timeouts.probe + 5,
        )

    def _create(self) -> None:
        """Check that the API server answers `/readyz`; EnvError naming the kubeconfig and context if not."""
        if not self.reachable():
            where = f"{self._value}" + (f" (context {self.context})" if self.context else "")
            raise EnvError(
                f"cluster from kubeconfig {where} is unreachable; fix --kubeconfig/--context "
                "or use --provider kwok"
            )

    def delete(self) -> None:
        """Nothing to delete: the cluster is not ours."""
        self.created = False
