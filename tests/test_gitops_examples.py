"""The GitOps examples reference real chart paths and values files, and set values the schemas accept."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conformance.values import merge_values

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "charts" / "examples"


@dataclass
class Deployment:
    """One chart installation an example describes, resolved to repository paths."""

    origin: str
    chart_dir: Path
    values_files: list[Path]
    inline_values: list[dict[str, Any]] = field(default_factory=list)
    # Flux replaces the chart's values.yaml when valuesFiles are given; Argo CD and Helm layer over it.
    defaults_included: bool = True


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse one values file (an empty file is an empty map)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    assert isinstance(data, dict), f"{path}: values must be a map"
    return data


def example_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every YAML document under charts/examples."""
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                yield path, doc


def fill_go_template(node: Any, params: dict[str, Any]) -> Any:
    """Substitute `{{.key}}` / `{{key}}` placeholders of an ApplicationSet template."""
    text = json.dumps(node)

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        assert key in params, f"ApplicationSet template uses {{{{.{key}}}}} that no element defines"
        return str(params[key])

    return json.loads(re.sub(r"\{\{\s*\.?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", replace, text))


def argo_deployments(origin: str, spec: dict[str, Any]) -> list[Deployment]:
    """The chart installations of an Argo CD Application spec."""
    sources = spec.get("sources") or [spec["source"]]
    found = []
    for source in sources:
        if "path" not in source:
            continue
        chart_dir = REPO / source["path"]
        helm = source.get("helm", {})
        inline = []
        if "values" in helm:
            inline.append(yaml.safe_load(helm["values"]) or {})
        if "valuesObject" in helm:
            inline.append(helm["valuesObject"])
        found.append(Deployment(origin, chart_dir, [chart_dir / f for f in helm.get("valueFiles", [])], inline))
    return found


def flux_substitutions() -> list[dict[str, str]]:
    """The postBuild substitutions of every Flux Kustomization in the examples."""
    subs = [
        doc["spec"].get("postBuild", {}).get("substitute", {})
        for _, doc in example_documents()
        if doc.get("kind") == "Kustomization" and doc.get("apiVersion", "").startswith("kustomize.toolkit")
    ]
    return subs or [{}]


def flux_deployments(path: Path, doc: dict[str, Any]) -> list[Deployment]:
    """The chart installations of a Flux HelmRelease, once per Kustomization substitution."""
    found = []
    for subs in flux_substitutions():
        text = json.dumps(doc)
        for key, value in subs.items():
            text = text.replace("${" + key + "}", value)
        resolved = json.loads(text)
        assert "${" not in text, f"{path}: HelmRelease uses a variable no Kustomization substitutes: {text}"
        chart_spec = resolved["spec"]["chart"]["spec"]
        files = chart_spec.get("valuesFiles", [])
        found.append(
            Deployment(
                f"{path.relative_to(REPO)} {resolved['metadata']['name']} {subs}",
                REPO / chart_spec["chart"],
                [REPO / f for f in files],
                [resolved["spec"].get("values", {})],
                defaults_included=not files,
            )
        )
    return found


def all_deployments() -> list[Deployment]:
    """Every chart installation described by the examples."""
    found: list[Deployment] = []
    for path, doc in example_documents():
        kind = doc.get("kind")
        origin = f"{path.relative_to(REPO)} {kind}/{doc['metadata']['name']}"
        if kind == "Application":
            found += argo_deployments(origin, doc["spec"])
        elif kind == "ApplicationSet":
            for generator in doc["spec"]["generators"]:
                for element in generator.get("list", {}).get("elements", []):
                    spec = fill_go_template(doc["spec"]["template"]["spec"], element)
                    found += argo_deployments(f"{origin} {element}", spec)
        elif kind == "HelmRelease":
            found += flux_deployments(path, doc)
    return found


DEPLOYMENTS = all_deployments()


def test_examples_cover_argo_and_flux() -> None:
    """The examples hold an Application, an ApplicationSet, a HelmRelease and a Kustomization."""
    kinds = {doc.get("kind") for _, doc in example_documents()}
    assert {"Application", "ApplicationSet", "HelmRelease", "Kustomization"} <= kinds


def test_flux_kustomizations_point_at_existing_paths() -> None:
    """Every Flux Kustomization path is a directory of this repository."""
    for path, doc in example_documents():
        if doc.get("kind") == "Kustomization" and "path" in doc.get("spec", {}):
            target = REPO / doc["spec"]["path"]
            assert target.is_dir(), f"{path}: Kustomization path {doc['spec']['path']} does not exist"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d.origin)
def test_example_references_existing_chart_and_values(deployment: Deployment) -> None:
    """The chart directory and every values file an example names exist."""
    assert (deployment.chart_dir / "Chart.yaml").is_file(), (
        f"{deployment.origin}: {deployment.chart_dir.relative_to(REPO)} is not a chart"
    )
    for values_file in deployment.values_files:
        assert values_file.is_file(), f"{deployment.origin}: values file {values_file} does not exist"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d.origin)
def test_example_values_are_accepted_by_the_schema(deployment: Deployment) -> None:
    """Inline values over the values files over the chart defaults validate against values.schema.json."""
    schema = json.loads((deployment.chart_dir / "values.schema.json").read_text(encoding="utf-8"))
    values: dict[str, Any] = load_yaml(deployment.chart_dir / "values.yaml")
    if not deployment.defaults_included:
        values = {}
    for values_file in deployment.values_files:
        values = merge_values(values, load_yaml(values_file))
    for inline in deployment.inline_values:
        values = merge_values(values, inline)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(values), key=lambda e: list(e.path))
    assert not errors, f"{deployment.origin}: " + "; ".join(
        f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors
    )
