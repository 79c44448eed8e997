"""Hypothesis strategies for values: sparse schema-valid overrides, merged over the chart's defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from conformance.fuzz.generate import compile_schema
from conformance.fuzz.schema import Schema, first_error, generation_schema, share
from conformance.values import Values, diff_values, merge_values


@dataclass(frozen=True)
class Example:
    """One generated input: the override drawn, the merged values, and the minimal override reproducing them."""

    override: Values
    merged: Values
    minimal: Values


@lru_cache(maxsize=16)
def _overrides(schema_text: str) -> st.SearchStrategy[Any]:
    """The (cached) strategy of overrides for one schema."""
    return compile_schema(generation_schema(json.loads(schema_text)))


_OVERRIDES: dict[int, tuple[Schema, st.SearchStrategy[Values]]] = {}


def overrides(schema: Schema) -> st.SearchStrategy[Values]:
    """Sparse overrides: objects drawn from the relaxed, bounded schema (empty = the defaults); built once per
    schema object (serialising a large schema to find its cached strategy costs ~10 ms a draw)."""
    hit = _OVERRIDES.get(id(schema))
    if hit is None or hit[0] is not schema:
        made = _overrides(json.dumps(schema, sort_keys=True)).filter(lambda v: isinstance(v, dict))
        hit = _OVERRIDES[id(schema)] = (schema, made)
    return hit[1]


def merged_valid(schema: Schema, defaults: Values, override: Values) -> Example | None:
    """The example, or None when the override merged over the defaults breaks the full schema."""
    share(defaults)
    merged = merge_values(defaults, override, share=True)
    if first_error(schema, merged):
        return None
    return Example(override, merged, diff_values(defaults, merged))


def valid_values(schema: Schema, defaults: Values) -> st.SearchStrategy[Example]:
    """Schema-valid values: a sparse override merged over the defaults, kept only when the merge is valid."""

    @st.composite
    def draw(data: st.DrawFn) -> Example:
        example = merged_valid(schema, defaults, data(overrides(schema)))
        assume(example is not None)
        assert example is not None
        return example

    return draw()
