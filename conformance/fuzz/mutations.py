"""Schema-guided invalid values: one mutation of the defaults per constraint the schema states."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conformance.fuzz.schema import Schema, inline_refs
from conformance.values import Values

#: The unknown key put where `additionalProperties: false` forbids extras.
UNKNOWN_KEY = "conformanceUnknownKey"
#: A value of another JSON type for each schema type.
WRONG_TYPE: dict[str, Any] = {"string": 12345, "integer": "not-a-number", "number": "not-a-number",
                              "boolean": "not-a-boolean", "array": "not-a-list", "object": ["not-a-map"]}
_PATTERN_BREAKERS = ("Not Valid!", "", " ", "-", "a" * 300, "0")


@dataclass(frozen=True)
class Mutation:
    """One invalid change: `value` at `path` (None deletes the key, as in Helm)."""

    kind: str
    path: tuple[str, ...]
    value: Any

    @property
    def name(self) -> str:
        """`kind:dotted.path`, the mutation's ID."""
        return f"{self.kind}:{'.'.join(self.path) or '(root)'}"

    @property
    def override(self) -> Values:
        """The values a user would write to make this change."""
        out: Any = self.value
        for key in reversed(self.path):
            out = {key: out}
        assert isinstance(out, dict)
        return out


def _types(schema: Schema) -> set[str]:
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()


def _wrong_types(schema: Schema) -> Iterator[tuple[str, Any]]:
    allowed = _types(schema)
    if allowed and "integer" in allowed:
        allowed.add("number")
    for kind in sorted(allowed):
        wrong = WRONG_TYPE.get(kind)
        if wrong is not None and not any(_is_type(wrong, t) for t in allowed):
            yield "wrong-type", wrong


def _is_type(value: Any, kind: str) -> bool:
    checks = {"string": str, "array": list, "object": dict, "boolean": bool}
    if kind in ("integer", "number"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, checks.get(kind, type(None)))


def _ranges(schema: Schema) -> Iterator[tuple[str, Any]]:
    if isinstance(schema.get("minimum"), int | float):
        yield "below-minimum", schema["minimum"] - 1
    if isinstance(schema.get("maximum"), int | float):
        yield "above-maximum", schema["maximum"] + 1
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(schema.get(key), int | float) and not isinstance(schema[key], bool):
            yield "out-of-range", schema[key]
    if isinstance(schema.get("maxLength"), int):
        yield "too-long", "a" * (schema["maxLength"] + 1)
    if isinstance(schema.get("minLength"), int) and schema["minLength"] > 0:
        yield "too-short", "a" * (schema["minLength"] - 1)


def _enum_and_pattern(schema: Schema) -> Iterator[tuple[str, Any]]:
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        outsider: Any = "not-in-enum" if all(isinstance(e, str) for e in enum) else 987654321
        if outsider not in enum:
            yield "not-in-enum", outsider
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            regex = re.compile(pattern)
        except re.error:
            return
        bad = next((s for s in _PATTERN_BREAKERS if not regex.search(s)), None)
        if bad is not None:
            yield "pattern-mismatch", bad


def leaf_mutations(schema: Schema) -> Iterator[tuple[str, Any]]:
    """(kind, invalid value) pairs for one value's schema: wrong type, out of range, outside enum, pattern."""
    yield from _wrong_types(schema)
    yield from _ranges(schema)
    yield from _enum_and_pattern(schema)


def _walk(schema: Schema, defaults: Any, path: tuple[str, ...]) -> Iterator[Mutation]:
    if not isinstance(defaults, dict):
        return
    props = schema.get("properties") or {}
    if schema.get("additionalProperties") is False:
        yield Mutation("unknown-key", (*path, UNKNOWN_KEY), True)
    for key in schema.get("required", []):
        if key in defaults:
            yield Mutation("missing-required", (*path, key), None)
    for key, sub in props.items():
        if not isinstance(sub, dict):
            continue
        for kind, value in leaf_mutations(sub):
            yield Mutation(kind, (*path, key), value)
        yield from _walk(sub, defaults.get(key), (*path, key))


def mutations(schema: Schema, defaults: Values) -> list[Mutation]:
    """Every mutation the schema suggests at a key the defaults set (so the change merges where meant)."""
    return list(_walk(inline_refs(schema), defaults, ()))
