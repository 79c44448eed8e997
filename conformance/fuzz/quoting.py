"""Opt-in check (`--fuzz-yaml-strings`): free-text values with YAML syntax in them still render valid YAML.

The fuzzer draws realistic strings by default (letters, digits, spaces, `-_./@`), so a template that writes a
string unquoted is not reported as a render crash on control characters nobody types. This check sets each
free-text string of the schema, one at a time, to strings that break an unquoted YAML scalar, and reports a
path whose value breaks the render as a quoting warning (`fuzz-quoting`), naming the fix (`| quote`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.fuzz.schema import Schema, first_error, inline_refs
from conformance.fuzz.target import SCENARIO, Target
from conformance.report import Finding
from conformance.rules.reported import FUZZ_QUOTING
from conformance.values import merge_values

#: Strings that are fine as values but break a template that writes them without `quote`: a mapping
#: indicator, a comment, an alias and an anchor, flow collections, a line break, a tab and a control character.
YAML_BREAKERS = ("a: b", "x #y", "*ref", "&anchor", "{a}", "[a", "line\nbreak", "tab\there", "bell\x07")
#: Keywords that make a string not free text (its values are constrained, so quoting is moot).
CONSTRAINED = frozenset({"pattern", "enum", "const", "format"})


def free_text_paths(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Schema]]:
    """(values path, schema) of every free-text string property the schema names."""
    if not isinstance(schema, dict):
        return
    kinds = schema.get("type")
    if (kinds == "string" or (isinstance(kinds, list) and "string" in kinds)) and not CONSTRAINED & schema.keys():
        if path:
            yield path, schema
        return
    for key, sub in (schema.get("properties") or {}).items():
        yield from free_text_paths(sub, (*path, str(key)))


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return dict(out)


def breaks_yaml(error: str) -> bool:
    """True when a render error is the output failing to parse as YAML (not a `fail` or a schema error)."""
    text = error.lower()
    return "yaml" in text and ("parse" in text or "converting" in text or "mapping values" in text
                               or "could not find" in text or "did not find" in text or "found character" in text)


def check_quoting(target: Target) -> list[Finding]:
    """A quoting warning per free-text values path that some YAML-breaking string breaks."""
    schema = inline_refs(target.schema)
    out = []
    for path, sub in free_text_paths(schema):
        for text in YAML_BREAKERS:
            if len(text) > int(sub.get("maxLength", 1 << 30)) or len(text) < int(sub.get("minLength", 0)):
                continue
            override = _nested(path, text)
            if first_error(target.schema, merge_values(target.defaults, override)):
                continue
            result = target.render_valid(override)
            if result.ok or not breaks_yaml(result.error):
                continue
            key = ".".join(path)
            out.append(Finding(
                rule=FUZZ_QUOTING, check="unquoted", severity="warning", kind="Chart", name=target.chart.name,
                namespace="", container="", template="", path=key, scenario=SCENARIO, tier="fuzz", values=override,
                message=f"values {key} = {text!r} renders invalid YAML: {result.error.strip()[:300]}",
                remediation=f"write {key} with `| quote` (or `| toYaml`) in the template that uses it",
                waived=target.waived(FUZZ_QUOTING, "unquoted")))
            break
    return out
