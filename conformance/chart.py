"""A chart under test: its metadata, default values, schema, scenarios and waivers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import UsageError
from conformance.values import Values, load_yaml_mapping

WAIVERS_FILE = "conformance-waivers.yaml"


@dataclass(frozen=True)
class Scenario:
    """A set of values files layered over the chart's defaults, rendered and checked as one."""

    name: str
    files: tuple[Path, ...] = ()


@dataclass
class Chart:
    """A chart directory with everything the tiers read from it."""

    path: Path
    metadata: dict[str, Any]
    defaults: Values
    schema: dict[str, Any] | None
    schema_error: str = ""
    scenarios: list[Scenario] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The chart's name from Chart.yaml."""
        return str(self.metadata.get("name", self.path.name))

    @property
    def version(self) -> str:
        """The chart's version from Chart.yaml."""
        return str(self.metadata.get("version", ""))

    @cached_property
    def digest(self) -> str:
        """A hash of every file in the chart, for render caches (computed once: charts don't change mid-run)."""
        h = hashlib.sha256()
        for f in sorted(p for p in self.path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(self.path)).encode())
            h.update(f.read_bytes())
        return h.hexdigest()[:20]


def load_chart(path: Path, extra_values: list[str] | None = None) -> Chart:
    """Load a chart directory; `extra_values` are --values arguments (comma-joined files stack)."""
    if not path.exists():
        raise UsageError(f"{path}: no such chart directory; pass the path of a chart (the folder with Chart.yaml)")
    if not (path / "Chart.yaml").is_file():
        raise UsageError(f"{path}: no Chart.yaml here; pass the path of a chart (the folder with Chart.yaml)")
    metadata = load_yaml_mapping(path / "Chart.yaml", "Chart.yaml")
    defaults = load_yaml_mapping(path / "values.yaml") if (path / "values.yaml").is_file() else {}
    schema, schema_error = _load_schema(path / "values.schema.json")
    chart = Chart(path.resolve(), metadata, defaults, schema, schema_error)
    chart.scenarios = default_scenarios(chart.path) + user_scenarios(extra_values or [])
    return chart


def _load_schema(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The parsed values schema, or (None, reason) when absent or not JSON."""
    if not path.is_file():
        return None, "missing"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return None, f"{path.name}: invalid JSON at line {exc.lineno}: {exc.msg}"
    if not isinstance(data, dict):
        return None, f"{path.name}: top level is not an object"
    return data, ""


def default_scenarios(chart_dir: Path) -> list[Scenario]:
    """The defaults, each environment file `values-*.yaml`, and each `ci/*-values.yaml`."""
    out = [Scenario("defaults")]
    out += [Scenario(f.stem, (f,)) for f in sorted(chart_dir.glob("values-*.yaml"))]
    out += [Scenario(f"ci/{f.stem}", (f,)) for f in sorted((chart_dir / "ci").glob("*-values.yaml"))]
    return out


def user_scenarios(args: list[str]) -> list[Scenario]:
    """Scenarios from --values arguments: each argument is one scenario, `a.yaml,b.yaml` stacks files."""
    out = []
    for arg in args:
        files = tuple(Path(p).resolve() for p in arg.split(",") if p)
        for f in files:
            if not f.is_file():
                raise UsageError(f"--values {arg}: {f} does not exist; pass an existing values file")
            load_yaml_mapping(f)
        out.append(Scenario("values:" + "+".join(f.stem for f in files), files))
    return out


def chart_yaml_files(chart_dir: Path) -> dict[str, str]:
    """The chart's own YAML files that yamllint checks (as chart-testing does): Chart.yaml, values*.yaml and
    ci/*.yaml, by path relative to the chart."""
    files = [chart_dir / "Chart.yaml", *sorted(chart_dir.glob("values*.yaml")), *sorted(chart_dir.glob("ci/*.yaml"))]
    return {str(f.relative_to(chart_dir)): f.read_text(errors="replace") for f in files if f.is_file()}


def load_crds(folder: Path | None) -> tuple[dict[str, Any], ...]:
    """Every CustomResourceDefinition in the YAML files of a folder (recursively); () without a folder."""
    if folder is None:
        return ()
    out = []
    for f in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
        try:
            docs = list(yaml.safe_load_all(f.read_text(errors="replace")))
        except yaml.YAMLError as exc:
            raise UsageError(f"--crds {folder}: {f} is not valid YAML ({exc}); fix or remove it") from exc
        out += [d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
    return tuple(out)


def load_waivers_text(chart_dir: Path) -> list[dict[str, Any]]:
    """The raw waiver entries of a chart (empty when it has no waivers file)."""
    path = chart_dir / WAIVERS_FILE
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: invalid YAML ({exc}); fix the waivers file") from exc
    entries = data.get("waivers", []) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{path}: expected a mapping with a `waivers:` list")
    return entries
