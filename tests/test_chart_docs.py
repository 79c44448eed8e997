"""The bundled charts' README configuration tables are generated from values.yaml and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.docs import documented_keys, update_readme, values_table

REPO = Path(__file__).resolve().parents[1]
CHARTS = ["floe-platform", "floe-jobs"]


@pytest.mark.parametrize("chart", CHARTS)
def test_readme_values_table_is_up_to_date(chart: str) -> None:
    """Regenerating a chart's README table changes nothing."""
    assert update_readme(REPO / "charts" / chart, check=True), (
        f"charts/{chart}/README.md: the values table is out of date; "
        f"regenerate it with `python -m conformance.docs charts/{chart}`"
    )


@pytest.mark.parametrize("chart", CHARTS)
def test_every_values_key_is_documented(chart: str) -> None:
    """Every key of values.yaml, at every level, has a `# --` comment directly above it."""
    text = (REPO / "charts" / chart / "values.yaml").read_text(encoding="utf-8")
    documented = {doc.path for doc in documented_keys(text)}
    keys: set[tuple[str, ...]] = set()

    def walk(node: object, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                keys.add((*path, str(key)))
                walk(child, (*path, str(key)))

    walk(yaml.safe_load(text), ())
    missing = sorted(".".join(path) for path in keys - documented)
    assert not missing, f"charts/{chart}/values.yaml: add a `# --` comment above: {', '.join(missing)}"


def test_values_table_renders_nested_keys_types_defaults_and_enums() -> None:
    """values_table dots nested keys, takes types and enums from the schema and skips block scalars."""
    values = (
        "# -- Settings\n"
        "global:\n"
        "  # -- Environment label\n"
        "  environment: dev\n"
        "  # -- Pull secrets\n"
        "  pullSecrets: []\n"
        "# -- A script | with a pipe\n"
        "script: |\n"
        "  key: not-a-values-key\n"
        "# -- Replicas\n"
        "# spanning two lines\n"
        "replicas: 2\n"
    )
    schema = {
        "type": "object",
        "properties": {
            "global": {
                "type": "object",
                "properties": {
                    "environment": {"type": "string", "enum": ["dev", "prod"]},
                    "pullSecrets": {"type": "array"},
                },
            },
            "script": {"type": "string"},
            "replicas": {"type": "integer"},
        },
    }
    assert values_table(values, schema).splitlines() == [
        "| Key | Type | Default | Description |",
        "|-----|------|---------|-------------|",
        "| `global` | object |  | Settings |",
        '| `global.environment` | string | `"dev"` | Environment label. One of: `"dev"`, `"prod"`. |',
        "| `global.pullSecrets` | array | `[]` | Pull secrets |",
        "| `script` | string | see values.yaml | A script \\| with a pipe |",
        "| `replicas` | integer | `2` | Replicas spanning two lines |",
    ]
