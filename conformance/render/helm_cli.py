"""The reference render backend: the real `helm template`, cached per chart x values x Kubernetes version."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from conformance.cache import cache_dir, read_json, write_json
from conformance.chart import Chart, Scenario
from conformance.render.manifest import Manifest, RenderResult, result_from_output
from conformance.timeouts import TIMEOUTS
from conformance.tools import run, tool_path

RELEASE = "conformance"
NAMESPACE = "conformance"

_MEMO: dict[str, RenderResult] = {}


def template_args(
    chart_dir: Path, files: tuple[Path, ...], kube_version: str, release: str = RELEASE, namespace: str = NAMESPACE
) -> list[str]:
    """The `helm template` arguments for a chart and values files (Kubernetes version always explicit)."""
    args = ["template", release, str(chart_dir), "--namespace", namespace, "--kube-version", kube_version]
    for f in files:
        args += ["--values", str(f)]
    return args


def helm_error(stderr: str) -> str:
    """Helm's error line(s), without the `Error: ` prefix noise."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    text = " ".join(lines) or "helm failed with no message"
    return text.removeprefix("Error: ")


def _key(chart: Chart, files: tuple[Path, ...], kube_version: str, helm: str) -> str:
    h = hashlib.sha256()
    h.update(chart.digest.encode())
    for f in files:
        h.update(f.read_bytes())
    h.update(f"{kube_version}|{helm}|{os.path.getmtime(helm)}".encode())
    return h.hexdigest()[:24]


def render_files(chart: Chart, files: tuple[Path, ...], kube_version: str, helm_name: str = "helm") -> RenderResult:
    """Render the whole chart with the real helm (so `fail` errors surface), memoised and disk-cached."""
    helm = tool_path(helm_name)
    key = _key(chart, files, kube_version, helm)
    if key in _MEMO:
        return _MEMO[key]
    cache = cache_dir()
    cached = cache / "render" / f"{key}.json" if cache else None
    data = read_json(cached) if cached else None
    if data is not None:
        result = RenderResult([Manifest(m["obj"], m["template"]) for m in data["manifests"]], data["error"])
    else:
        proc = run([helm, *template_args(chart.path, files, kube_version)], timeout=TIMEOUTS.helm_template)
        if proc.returncode != 0:
            result = RenderResult(error=helm_error(proc.stderr))
        else:
            result = result_from_output(proc.stdout)
        if cached:
            payload = {"manifests": [{"obj": m.obj, "template": m.template} for m in result.manifests]}
            write_json(cached, {**payload, "error": result.error})
    _MEMO[key] = result
    return result


def render(chart: Chart, scenario: Scenario, kube_version: str) -> RenderResult:
    """Render one scenario of a chart with the reference backend."""
    return render_files(chart, scenario.files, kube_version)
