"""A fast strategy compiler for values schemas.

hypothesis-jsonschema canonicalises and merges subschemas on every draw of an object, about 250 ms per
example on floe-platform's schema. Values schemas are mostly plain trees of `properties`, so this module
compiles those nodes once into hypothesis strategies and hands only leaves and the nodes it does not model
(combinators, `if/then/else`, `not`, `dependencies`, `patternProperties`, multiple types) to
hypothesis-jsonschema, cached per subschema.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.strategies import SearchStrategy
from hypothesis_jsonschema import from_schema

from conformance.fuzz.schema import MAX_PROPERTIES, Schema

#: Keywords this compiler does not model on an object node: the node goes to hypothesis-jsonschema whole.
DELEGATED = frozenset({"if", "then", "else", "allOf", "anyOf", "oneOf", "not", "dependencies",
                       "patternProperties", "minProperties", "const", "enum"})
#: Swarm testing: each example picks one density for all its objects, the number of optional keys of an
#: object it sets on average (at most 90 % of them). Sparse examples find single-key bugs and keep
#: overrides realistic, dense ones reach combinations of keys; the draw shrinks towards sparse.
KEYS_PER_OBJECT = {"sparse": 1, "half": 3, "dense": 8}
DENSITIES = tuple(KEYS_PER_OBJECT)
#: Half the examples sparse, 3/8 half, 1/8 dense: dense examples of a large schema cost ~8x a sparse one.
_WEIGHTED = ("sparse",) * 4 + ("half",) * 3 + ("dense",)
DENSITY = st.shared(st.sampled_from(_WEIGHTED), key="conformance-fuzz-density")


@lru_cache(maxsize=4096)
def _delegate(text: str) -> st.SearchStrategy[Any]:
    return from_schema(json.loads(text), allow_x00=False)


def delegate(schema: Schema) -> st.SearchStrategy[Any]:
    """hypothesis-jsonschema's strategy for a subschema, built once per distinct subschema."""
    return _delegate(json.dumps(schema, sort_keys=True))


def _type(schema: Schema) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    if "properties" in schema and kind is None:
        return "object"
    return None


def percent_included(density: str, optional: int) -> int:
    """The chance (in percent) that an example of this density sets one of `optional` optional keys."""
    return min(90, math.ceil(100 * KEYS_PER_OBJECT[density] / max(1, optional)))


class Coin(SearchStrategy[bool]):
    """A biased coin that shrinks to False (hypothesis's integers skew low, so `integers(0, 99) > k` is not a
    fair way to set a probability; this uses the engine's own biased boolean)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def do_draw(self, data: ConjectureData) -> bool:
        """Draw True with probability p."""
        return data.draw_boolean(self.p)


def _included(density: str, optional: int) -> st.SearchStrategy[bool]:
    """Whether one optional key is set; shrinks to unset."""
    return Coin(percent_included(density, optional) / 100)


def _map_entries(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    """Extra keys of a map-like object (`additionalProperties` is a schema)."""
    extra = schema.get("additionalProperties")
    if not isinstance(extra, dict):
        return st.just({})
    rule = schema.get("propertyNames")
    names = delegate({"type": "string", **rule}) if isinstance(rule, dict) else \
        st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True)
    top = int(schema.get("maxProperties", MAX_PROPERTIES))
    return st.dictionaries(names, compile_schema(extra), max_size=max(0, min(top, MAX_PROPERTIES)))


def _object(schema: Schema) -> st.SearchStrategy[Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = [k for k in schema.get("required", []) if k in props]
    if len(required) != len(schema.get("required", [])):
        return delegate(schema)
    optional = [k for k in props if k not in required]
    parts = {k: compile_schema(props[k]) for k in props}
    include = {d: _included(d, len(optional)) for d in DENSITIES}
    extras = _map_entries(schema)

    @st.composite
    def draw(data: st.DrawFn) -> dict[str, Any]:
        chance = include[data(DENSITY)]
        out = {k: data(parts[k]) for k in required}
        out.update({k: data(parts[k]) for k in optional if data(chance)})
        for k, v in data(extras).items():
            out.setdefault(k, v)
        return out

    return draw()


def _array(schema: Schema) -> st.SearchStrategy[Any]:
    items = schema.get("items", {})
    if not isinstance(items, dict) or "contains" in schema or "additionalItems" in schema:
        return delegate(schema)
    unique = bool(schema.get("uniqueItems"))
    return st.lists(compile_schema(items), min_size=int(schema.get("minItems", 0)),
                    max_size=int(schema.get("maxItems", 3)),
                    unique_by=(lambda x: json.dumps(x, sort_keys=True)) if unique else None)


#: Characters of free-text strings: what people type into a values file (letters, digits, spaces, `-_./@`).
#: Strings with YAML syntax in them (`: `, `#`, `*`, `&`, control characters) are the opt-in quoting check
#: (conformance/fuzz/quoting.py, --fuzz-yaml-strings on), reported as warnings, not as render crashes.
TEXT = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./@")


def _text(schema: Schema) -> st.SearchStrategy[Any] | None:
    """Free text (no pattern, format or enum): printable characters within the length bounds."""
    if set(schema) - {"type", "minLength", "maxLength", "description", "title", "default", "examples"}:
        return None
    return st.text(TEXT, min_size=int(schema.get("minLength", 0)), max_size=int(schema.get("maxLength", 24)))


@lru_cache(maxsize=4096)
def _compile(text: str) -> st.SearchStrategy[Any]:
    schema: Schema = json.loads(text)
    kind = _type(schema)
    if kind == "string" and (free := _text(schema)) is not None:
        return free
    if kind == "object" and not DELEGATED & schema.keys():
        return _object(schema)
    if kind == "array" and not DELEGATED & schema.keys():
        return _array(schema)
    if kind == "boolean" and len(set(schema) - {"type", "description", "default", "title"}) == 0:
        return st.booleans()
    return delegate(schema)


def compile_schema(schema: Any) -> st.SearchStrategy[Any]:
    """A strategy of values valid against a (ref-free, bounded) schema, compiled once per subschema."""
    if schema is True or schema == {}:
        return delegate({})
    if not isinstance(schema, dict):
        return st.nothing()
    return _compile(json.dumps(schema, sort_keys=True))
