"""The fuzz render backends: the persistent engine (tools/helmrender, the default) and the `helm template` CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

from conformance.errors import EnvError
from conformance.render.helm_cli import template_args
from conformance.render.inprocess import comparable_error, render_values
from conformance.render.manifest import RenderResult, result_from_output
from conformance.timeouts import TIMEOUTS
from conformance.tools import run, tool_path
from conformance.values import Values

Renderer = Callable[[Values], RenderResult]


def render_cli(chart_dir: Path, values: Values, kube_version: str) -> RenderResult:
    """Render with the real `helm template --values -`, values as JSON on stdin (YAML Helm cannot misread)."""
    args = [tool_path("helm"), *template_args(chart_dir, (Path("-"),), kube_version)]
    try:
        proc = run(args, timeout=TIMEOUTS.fuzz_example, input_text=json.dumps(values, ensure_ascii=False))
    except EnvError:
        return RenderResult(error=f"render timed out after {TIMEOUTS.fuzz_example:g}s (helm template)")
    if proc.returncode != 0:
        return RenderResult(error=comparable_error(proc.stderr))
    return result_from_output(proc.stdout)


def renderer(backend: str, chart_dir: Path, kube_version: str, validate: bool = True) -> Renderer:
    """The render function of a backend (`inprocess` or `cli`) for one chart and Kubernetes version.

    `validate=False` is for values already validated with jsonschema: the persistent engine then skips
    Helm's own schema check (compiled on every render); the CLI always validates.
    """
    if backend == "cli":
        return partial(render_cli, chart_dir, kube_version=kube_version)
    return partial(render_values, chart_dir, kube_version=kube_version, validate=validate)
