"""What the fuzz properties need about the chart under test, built once per run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.chart import Chart
from conformance.fuzz.backend import Renderer, renderer
from conformance.fuzz.schema import Schema
from conformance.options import Settings
from conformance.values import Values
from conformance.waivers import Waiver, find

#: The scenario name of every fuzz finding (waivers may match it).
SCENARIO = "fuzz"


@dataclass(frozen=True)
class Target:
    """The chart, its schema and defaults, the renderers, the run's settings and the chart's waivers.

    `render` lets Helm validate the values against the schema; `render_valid` is for values jsonschema
    already accepted and may skip Helm's check (properties 2 and 4; property 1 and 3 use `render`).
    """

    chart: Chart
    schema: Schema
    defaults: Values
    render: Renderer
    render_valid: Renderer
    settings: Settings
    waivers: tuple[Waiver, ...] = ()

    @property
    def ref(self) -> str:
        """The chart's object handle in findings and waivers: `Chart/<name>`."""
        return f"Chart/{self.chart.name}"

    @property
    def path(self) -> Path:
        """The chart directory."""
        return self.chart.path

    def waived(self, rule: str, check: str) -> str:
        """The waiver text covering a chart-level fuzz finding, or ""."""
        w = find(list(self.waivers), rule, check, self.ref, SCENARIO)
        return f"{w.reason} (until {w.expiry})" if w else ""


def make_target(chart: Chart, settings: Settings, waivers: tuple[Waiver, ...] = (),
                backend: str | None = None) -> Target:
    """The fuzz target of a chart (the schema must exist: callers skip charts without one)."""
    schema: dict[str, Any] = chart.schema or {}
    kind, kube = backend or settings.fuzz_backend, settings.kube_version_full
    return Target(chart, schema, chart.defaults, renderer(kind, chart.path, kube),
                  renderer(kind, chart.path, kube, validate=False), settings, waivers)
