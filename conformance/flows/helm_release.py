"""A Helm release on a cluster, driven by the real helm binary; every step is timed."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import ConformanceError
from conformance.render.helm_cli import helm_error
from conformance.tools import run, tool_path

#: The workload kinds whose rollout a release waits for.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
#: API warnings helm prints while applying objects (PodSecurity `warn` mode among them).
_WARNING = re.compile(r"(?i)^(W\d{4} .*warnings\.go.*\]|Warning:)\s*(?P<msg>.*)$")


class FlowError(ConformanceError):
    """A helm step against the cluster failed: the message is helm's own error."""

    exit_code = 1


@dataclass(frozen=True)
class Step:
    """The outcome of one helm step: how long it took, its output, and the API warnings seen."""

    name: str
    seconds: float
    output: str
    warnings: tuple[str, ...] = field(default_factory=tuple)


def api_warnings(text: str) -> tuple[str, ...]:
    """The API server warnings in helm's output (e.g. `would violate PodSecurity "restricted:latest"`)."""
    out = []
    for line in text.splitlines():
        m = _WARNING.match(line.strip())
        if m and m.group("msg"):
            out.append(m.group("msg").strip())
    return tuple(dict.fromkeys(out))


@dataclass
class HelmRelease:
    """One release of one chart in one namespace of one cluster."""

    kubeconfig: Path
    name: str
    namespace: str
    context: str | None = None
    helm: str = "helm"

    def _run(self, step: str, args: list[str], timeout: float) -> Step:
        cmd = [tool_path(self.helm), *args, "--namespace", self.namespace, "--kubeconfig", str(self.kubeconfig)]
        if self.context:
            cmd += ["--kube-context", self.context]
        start = time.monotonic()
        proc = run(cmd, timeout=timeout + 30)
        seconds = time.monotonic() - start
        text = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise FlowError(f"helm {step} {self.name} in {self.namespace}: {helm_error(proc.stderr)}")
        return Step(step, seconds, text, api_warnings(text))

    @staticmethod
    def _values(files: tuple[Path, ...]) -> list[str]:
        return [a for f in files for a in ("--values", str(f))]

    def install(self, chart: Path | str, files: tuple[Path, ...], timeout: float) -> Step:
        """`helm install` without --wait: the caller waits itself, reading events so rejections fail fast."""
        return self._run("install", ["install", self.name, str(chart), *self._values(files),
                                     "--timeout", f"{int(timeout)}s"], timeout)

    def upgrade(self, chart: Path | str, files: tuple[Path, ...], timeout: float) -> Step:
        """`helm upgrade` without --wait (the caller waits, reading events) to a chart, with these values only."""
        return self._run("upgrade", ["upgrade", self.name, str(chart), *self._values(files), "--reset-values",
                                     "--timeout", f"{int(timeout)}s"], timeout)

    def rollback(self, revision: int, timeout: float) -> Step:
        """`helm rollback` without --wait (the caller waits) to an earlier revision."""
        return self._run("rollback", ["rollback", self.name, str(revision), "--timeout", f"{int(timeout)}s"],
                         timeout)

    def test(self, timeout: float) -> Step:
        """`helm test`: runs the chart's test hooks and waits for them to succeed."""
        return self._run("test", ["test", self.name, "--timeout", f"{int(timeout)}s"], timeout)

    def uninstall(self, timeout: float) -> Step:
        """`helm uninstall --wait`."""
        return self._run("uninstall", ["uninstall", self.name, "--wait", "--timeout", f"{int(timeout)}s"], timeout)

    def workloads(self, timeout: float) -> list[tuple[str, str]]:
        """(kind, name) of every Deployment, StatefulSet and DaemonSet in the release's current manifest."""
        step = self._run("get manifest", ["get", "manifest", self.name], timeout)
        out = []
        for doc in yaml.safe_load_all(step.output):
            if isinstance(doc, dict) and doc.get("kind") in WORKLOAD_KINDS:
                out.append((str(doc["kind"]), str((doc.get("metadata") or {}).get("name"))))
        return out

    def history(self, timeout: float) -> list[dict[str, Any]]:
        """The release history (revision, status, chart, description), oldest first."""
        step = self._run("history", ["history", self.name, "--output", "json"], timeout)
        data = json.loads(step.output[step.output.find("[") :] or "[]")
        return [dict(d) for d in data]
