"""The pinned helm (located like the harness's tools) run with generated values; argument lists and timeouts."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import EnvError
from conformance.timeouts import TIMEOUTS
from conformance.tools import run, tool_path
from floe.errors import FloeError
from floe.generate import Generated

#: Kubernetes version `floe helm template/lint` render for (Helm's offline default is older).
KUBE_VERSION = "1.35.0"


@dataclass(frozen=True)
class Kube:
    """Which cluster Helm talks to: kubeconfig path list (may be empty) and context."""

    kubeconfig: str
    context: str

    def flags(self) -> list[str]:
        """`--kube-context` (the kubeconfig goes through the environment: it may be a path list)."""
        return ["--kube-context", self.context]

    def env(self) -> dict[str, str]:
        """The environment with KUBECONFIG set when one was given."""
        return {**os.environ, "KUBECONFIG": self.kubeconfig} if self.kubeconfig else dict(os.environ)


@contextmanager
def values_file(generated: Generated) -> Iterator[Path]:
    """The generated values in a temporary file for `helm -f`, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="floe-values-") as tmp:
        path = Path(tmp) / f"values-{generated.target.environment}.yaml"
        path.write_text(generated.to_yaml())
        yield path


def helm(args: list[str], timeout: float, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the pinned helm; (exit code, stdout, stderr). FloeError if helm is missing or times out."""
    try:
        proc = run([tool_path("helm"), *args], timeout, env=env)
    except EnvError as exc:
        raise FloeError(str(exc)) from exc
    return proc.returncode, proc.stdout, proc.stderr


def last_error(stderr: str) -> str:
    """The line of helm's stderr that says what went wrong."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    return (errors or lines or ["(no output)"])[-1]


def template_args(generated: Generated, values: Path, release: str) -> list[str]:
    """`helm template` for the generated values in the environment's namespace."""
    return ["template", release, str(generated.chart), "-f", str(values), "--namespace", generated.target.namespace,
            "--kube-version", KUBE_VERSION]


def lint_args(generated: Generated, values: Path) -> list[str]:
    """`helm lint --strict` of the chart with the generated values."""
    return ["lint", "--strict", str(generated.chart), "-f", str(values), "--namespace", generated.target.namespace,
            "--kube-version", KUBE_VERSION]


def upgrade_args(generated: Generated, values: Path, release: str, kube: Kube, timeout: float) -> list[str]:
    """`helm upgrade --install` into the environment's namespace (floe waits itself, reading events)."""
    return ["upgrade", "--install", release, str(generated.chart), "-f", str(values), "--namespace",
            generated.target.namespace, "--timeout", f"{int(timeout)}s", *kube.flags()]


def history(release: str, namespace: str, kube: Kube) -> list[dict[str, Any]]:
    """The release's Helm history (revision, status, chart, description, updated); FloeError if none."""
    code, out, err = helm(["history", release, "--namespace", namespace, "-o", "json", *kube.flags()],
                          TIMEOUTS.kubectl, kube.env())
    if code != 0:
        raise FloeError(f"release {release} in namespace {namespace}: {last_error(err)}; deploy it first "
                        "(floe deploy) or pass --release")
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def releases(namespace: str, kube: Kube) -> list[str]:
    """Names of the Helm releases in a namespace, whatever their state (failed and pending ones too)."""
    # Helm 4 lists releases in every state when no state flag is given; it has no `-a/--all` (Helm 3 did).
    code, out, err = helm(["list", "--namespace", namespace, "-q", *kube.flags()], TIMEOUTS.kubectl, kube.env())
    if code != 0:
        raise FloeError(f"namespace {namespace} (context {kube.context}): {last_error(err)}; check --kubeconfig and "
                        "the cluster mapping's kubeContext")
    return [line.strip() for line in out.splitlines() if line.strip()]
