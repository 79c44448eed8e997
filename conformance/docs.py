"""Generate a chart README's configuration table from the `# --` comments in its values.yaml."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

START_MARKER = "<!-- values-table:start -->"
END_MARKER = "<!-- values-table:end -->"

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+|\"[^\"]+\"|'[^']+')\s*:(?P<rest>.*)$")
_DOC_START = re.compile(r"^(?P<indent> *)# -- ?(?P<text>.*)$")
_DOC_MORE = re.compile(r"^(?P<indent> *)# ?(?P<text>.*)$")
_BLOCK_SCALAR = re.compile(r"^\s*[|>][-+0-9]*\s*(#.*)?$")


@dataclass(frozen=True)
class ValueDoc:
    """One documented values key: its path from the root and its description."""

    path: tuple[str, ...]
    description: str


def documented_keys(values_yaml_text: str) -> list[ValueDoc]:
    """Return every mapping key of values.yaml with the `# --` comment block directly above it."""
    docs: list[ValueDoc] = []
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    skip_deeper_than: int | None = None
    for line in values_yaml_text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if skip_deeper_than is not None:
            if not line.strip() or indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        stripped = line.strip()
        if not stripped:
            pending = None
            continue
        doc_start = _DOC_START.match(line)
        if doc_start:
            pending = [doc_start.group("text").strip()]
            continue
        if stripped.startswith("#"):
            more = _DOC_MORE.match(line)
            if pending is not None and more:
                pending.append(more.group("text").strip())
            continue
        if stripped.startswith("-"):
            pending = None
            continue
        match = _KEY_LINE.match(line)
        if not match:
            pending = None
            continue
        key = match.group("key").strip("\"'")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if pending is not None:
            docs.append(ValueDoc(tuple(k for _, k in stack), " ".join(p for p in pending if p)))
        pending = None
        if _BLOCK_SCALAR.match(match.group("rest")):
            skip_deeper_than = indent
    return docs


def _schema_at(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """Return the subschema describing the value at path ({} when the schema does not say)."""
    node: dict[str, Any] = schema
    for key in path:
        properties = node.get("properties", {})
        if not isinstance(properties, dict) or key not in properties:
            return {}
        child = properties[key]
        if not isinstance(child, dict):
            return {}
        node = child
    return node


def _value_at(values: Any, path: tuple[str, ...]) -> Any:
    """Return the default at path in the parsed values (None when absent)."""
    node = values
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _type_of(subschema: dict[str, Any], default: Any) -> str:
    """Return the type column: the schema's type, else one inferred from the default."""
    declared = subschema.get("type")
    if isinstance(declared, list):
        return " or ".join(str(t) for t in declared)
    if isinstance(declared, str):
        return declared
    inferred = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return inferred.get(type(default), "")


def _default_of(default: Any) -> str:
    """Return the default column: JSON of scalars, lists and empty maps; nothing for sections."""
    if isinstance(default, dict) and default:
        return ""
    text = json.dumps(default)
    if "\n" in str(default) or len(text) > 80:
        return "see values.yaml"
    return f"`{text}`"


def _cell(text: str) -> str:
    """Escape text for one Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def values_table(values_yaml_text: str, schema: dict[str, Any]) -> str:
    """Return the Markdown configuration table (Key | Type | Default | Description) of a values.yaml."""
    values = yaml.safe_load(values_yaml_text) or {}
    rows = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for doc in documented_keys(values_yaml_text):
        subschema = _schema_at(schema, doc.path)
        default = _value_at(values, doc.path)
        description = doc.description
        enum = subschema.get("enum")
        if isinstance(enum, list) and enum:
            choices = ", ".join(f"`{json.dumps(v)}`" for v in enum)
            description += f"{'' if description.endswith('.') else '.'} One of: {choices}."
        key = ".".join(doc.path)
        rows.append(
            f"| `{_cell(key)}` | {_cell(_type_of(subschema, default))} | {_cell(_default_of(default))} "
            f"| {_cell(description)} |"
        )
    return "\n".join(rows) + "\n"


def update_readme(chart_dir: Path, check: bool) -> bool:
    """Regenerate the values table in chart_dir/README.md; True if it was already up to date."""
    values_text = (chart_dir / "values.yaml").read_text(encoding="utf-8")
    schema = json.loads((chart_dir / "values.schema.json").read_text(encoding="utf-8"))
    readme_path = chart_dir / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    start = readme.find(START_MARKER)
    end = readme.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"{readme_path}: add the markers {START_MARKER} and {END_MARKER} around the values table")
    head = readme[: start + len(START_MARKER)]
    updated = f"{head}\n{values_table(values_text, schema)}{readme[end:]}"
    if updated == readme:
        return True
    if not check:
        readme_path.write_text(updated, encoding="utf-8")
    return False


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check verify) the README values table of each chart given."""
    parser = argparse.ArgumentParser(prog="python -m conformance.docs", description=main.__doc__)
    parser.add_argument("charts", nargs="+", type=Path, help="chart directories, e.g. charts/floe-platform")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a table is out of date")
    args = parser.parse_args(argv)
    stale = [chart for chart in args.charts if not update_readme(chart, check=args.check)]
    for chart in stale:
        verb = "is out of date; run: python -m conformance.docs" if args.check else "updated:"
        print(f"{chart / 'README.md'} {verb} {chart}" if args.check else f"{verb} {chart / 'README.md'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
