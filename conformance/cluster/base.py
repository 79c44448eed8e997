"""The cluster provider API: a `Cluster` has a name and a kubeconfig, can be created, used and deleted."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

from conformance.cluster import _cleanup
from conformance.cluster.timeouts import CLUSTER_TIMEOUTS, ClusterTimeouts
from conformance.errors import ConformanceError, EnvError
from conformance.tools import run, tool_path

#: Cluster names are DNS labels (kind and kwokctl use them in host names and container names).
MAX_NAME = 63


def random_name(prefix: str = "conformance") -> str:
    """A fresh cluster name: `<prefix>-<8 hex>`, a DNS label under 63 characters."""
    name = f"{prefix}-{secrets.token_hex(4)}"
    if len(name) > MAX_NAME:
        raise ValueError(f"cluster name {name!r} is longer than {MAX_NAME} characters")
    return name


class KubectlError(ConformanceError):
    """A kubectl command against a cluster exited non-zero."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        """Keep the command, its exit code and its stderr."""
        self.args_list = args
        self.returncode = returncode
        self.stderr = stderr
        first = stderr.strip().splitlines()[0] if stderr.strip() else "(no output)"
        super().__init__(f"kubectl {' '.join(args)}: exit {returncode}: {first}")


def run_tool(
    args: list[str],
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a located tool with an argument list and a timeout; EnvError on timeout, never on exit code."""
    return run(args, timeout, cwd=cwd, input_text=input_text, env=env)


class Cluster(ABC):
    """A Kubernetes cluster the harness can talk to; use it as a context manager to guarantee deletion."""

    name: str
    kubeconfig: Path
    context: str | None = None
    timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS

    def __init__(self) -> None:
        """Start out not created."""
        self.created = False

    def create(self) -> None:
        """Bring the cluster up and wait until it serves; on any failure delete what was made, then raise."""
        if self.created:
            return
        try:
            self._create()
        except BaseException:
            with contextlib.suppress(Exception):
                self.delete()
            raise
        self.created = True

    @abstractmethod
    def _create(self) -> None:
        """Provider-specific creation; EnvError with the fix if the cluster cannot be had."""

    @abstractmethod
    def delete(self) -> None:
        """Tear the cluster down and remove what create made; safe to call twice."""

    def kubeconfig_env(self) -> str:
        """The KUBECONFIG value kubectl is run with."""
        return str(self.kubeconfig)

    def kubectl_command(self, *args: str) -> list[str]:
        """The full kubectl argument list for a command against this cluster."""
        cmd = [tool_path("kubectl"), "--kubeconfig", self.kubeconfig_env()]
        if self.context:
            cmd += ["--context", self.context]
        return [*cmd, *args]

    def run_kubectl(
        self, *args: str, timeout: float | None = None, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster and return the finished process, whatever its exit code."""
        env = {**os.environ, "KUBECONFIG": self.kubeconfig_env()}
        return run_tool(
            self.kubectl_command(*args), timeout or self.timeouts.kubectl, env=env, input_text=input_text
        )

    def kubectl(self, *args: str, timeout: float | None = None, input_text: str | None = None) -> str:
        """Run kubectl against this cluster and return its stdout; KubectlError on a non-zero exit."""
        proc = self.run_kubectl(*args, timeout=timeout, input_text=input_text)
        if proc.returncode != 0:
            raise KubectlError(list(args), proc.returncode, proc.stderr)
        return proc.stdout

    def reachable(self) -> bool:
        """True when the API server answers `/readyz` with ok."""
        try:
            proc = self.run_kubectl(
                "get",
                "--raw",
                "/readyz",
                f"--request-timeout={self.timeouts.probe:g}s",
                timeout=self.timeouts.probe + 5,
            )
        except EnvError:
            return False
        return proc.returncode == 0 and proc.stdout.strip() == "ok"

    def _register(self) -> None:
        """Record that this cluster exists (or may partly exist) so exit and signals delete it."""
        _cleanup.register(self)

    def _unregister(self) -> None:
        """Record that this cluster is gone."""
        _cleanup.unregister(self)

    def __enter__(self) -> Self:
        """Create the cluster unless it already is; the `with` block then owns its deletion."""
        self.create()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Delete the cluster, also when the block raised or was interrupted."""
        self.delete()

    def __repr__(self) -> str:
        """Kind of provider, name and kubeconfig."""
        return f"{type(self).__name__}(name={self.name!r}, kubeconfig={str(self.kubeconfig)!r})"
