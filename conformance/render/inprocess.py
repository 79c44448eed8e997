"""The in-process render backend: Helm 4's own Go SDK through `helm-python-sdk`, no process per render.

It matches `helm template --kube-version X --namespace conformance conformance CHART -f values.yaml`
(`conformance.render.helm_cli.template_args`): same release name, namespace, revision 1, install mode,
Kubernetes version, hooks and `helm test` documents included, NOTES.txt and partials left out.
The Python wrapper does not expose the Kubernetes version, so the native `helm_render` call is made with
the SDK's own option names (`kube_version` is a field of the library's render options).

Known irreducible differences, documented and excluded from the differential test:
- `.Capabilities.HelmVersion.Version` is "v4.2" in process (the library is built without release ldflags)
  and "v4.2.4" from the CLI; charts should not render it.
- Error texts: both are normalised by `comparable_error`; Helm's YAML parse errors of a template that emits
  invalid YAML are worded differently (the CLI parses in Go, this backend in PyYAML), so the differential
  test compares "error vs error" there, not the text.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import helm_python
import yaml
from helm_python import _native

from conformance.render.helm_cli import NAMESPACE, RELEASE, helm_error
from conformance.render.manifest import DuplicateKeyError, Manifest, RenderResult, parse_document, split_documents
from conformance.timeouts import TIMEOUTS

_DEBUG_HINT = "Use --debug flag to render out invalid YAML"


@lru_cache(maxsize=16)
def load(chart_dir: Path, validate: bool = True) -> helm_python.Chart:
    """The chart loaded once per directory (charts are immutable and thread-safe in the SDK).

    With `validate=False` the chart is loaded without its top-level values.schema.json: Helm compiles the
    schema on every render (about 20 ms for floe-platform's), so callers that already validated the values
    with `jsonschema` (the fuzzer) skip it. The fuzzer's rejects-invalid property proves both validators agree.
    """
    if validate or not (chart_dir / "values.schema.json").is_file():
        return helm_python.Chart.load(str(chart_dir))
    with tempfile.TemporaryDirectory(prefix="conformance-chart-") as tmp:
        copy = Path(tmp) / chart_dir.name
        shutil.copytree(chart_dir, copy, ignore=lambda d, names: ["values.schema.json"] if d == str(chart_dir)
                        else [])
        return helm_python.Chart.load(str(copy))


def comparable_error(text: str) -> str:
    """An error message normalised so the CLI's and the SDK's wording of the same error compare equal."""
    return " ".join(helm_error(text.replace(_DEBUG_HINT, "")).split())


def _options(kube_version: str, release: str, namespace: str) -> str:
    """The SDK's render options, as `helm template` sets them (install, revision 1)."""
    version = kube_version if kube_version.startswith("v") else "v" + kube_version
    opts = {"name": release, "namespace": namespace, "revision": 1, "is_install": True, "kube_version": version}
    return json.dumps(opts)


def render_map(chart_dir: Path, values: dict[str, Any], kube_version: str, release: str = RELEASE,
               namespace: str = NAMESPACE, validate: bool = True) -> dict[str, str]:
    """The raw {template path: text} render of a chart; raises the SDK's HelmError on failure."""
    chart = load(chart_dir.resolve(), validate)
    out = _native.call_string("helm_render", chart._raw(), json.dumps(values),
                              _options(kube_version, release, namespace))
    files: dict[str, str] = json.loads(out)
    return files


@lru_cache(maxsize=4096)
def _parse(path: str, text: str) -> tuple[Manifest, ...]:
    """The objects of one rendered template, memoised: most templates render the same for most examples.

    The objects are shared between results, so they must not be mutated (rules are pure functions).
    """
    return tuple(m for doc in split_documents(text) for m in parse_document(doc, path))


def manifests(files: dict[str, str]) -> list[Manifest]:
    """Objects of a render map, ordered by template path (as `manifest.manifests_from_files`, with libyaml)."""
    return [m for path in sorted(files) if path.endswith((".yaml", ".yml", ".json")) for m in _parse(path, files[path])]


def _render(chart_dir: Path, values: dict[str, Any], kube_version: str, release: str,
            namespace: str, validate: bool) -> RenderResult:
    try:
        files = render_map(chart_dir, values, kube_version, release, namespace, validate)
    except helm_python.HelmError as exc:
        return RenderResult(error=comparable_error(str(exc)))
    try:
        return RenderResult(manifests(files))
    except DuplicateKeyError as exc:
        return RenderResult(error=str(exc))
    except yaml.YAMLError as exc:
        return RenderResult(error=f"YAML parse error: {' '.join(str(exc).split())}")


def render_values(chart_dir: Path, values: dict[str, Any], kube_version: str, release: str = RELEASE,
                  namespace: str = NAMESPACE, timeout: float = TIMEOUTS.fuzz_example,
                  validate: bool = True) -> RenderResult:
    """Render a chart with user values (coalesced over its defaults by Helm), in process, with a timeout.

    `validate=False` skips Helm's values.schema.json check (see `load`). The SDK call cannot be cancelled,
    so it runs on a daemon thread; past `timeout` the render is reported as an error and the thread is
    abandoned.
    """
    box: list[RenderResult] = []
    worker = threading.Thread(target=lambda: box.append(_render(chart_dir, values, kube_version, release,
                                                                  namespace, validate)), daemon=True)
    worker.start()
    worker.join(timeout)
    if not box:
        return RenderResult(error=f"render timed out after {timeout:g}s (in-process helm)")
    return box[0]
