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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.strategies import SearchStrategy
from hypothesis_jsonschema import from_schema

from conformance.fuzz.regex import pattern_strings
from conformance.fuzz.schema import MAX_PROPERTIES, Schema, validator

#: Keywords this compiler does not model on an object node: the node goes to hypothesis-jsonschema whole.
DELEGATED = frozenset({"if", "then", "else", "allOf", "anyOf", "oneOf", "not", "dependencies",
                       "patternProperties", "minProperties", "const", "enum"})
#: Keywords of an object node that are checked on each object drawn from its properties instead of modelled
#: (`if/then/else` over its own keys): hypothesis-jsonschema would draw the node whole, ~30 ms a draw. Such a
#: node is not a flag skeleton (`_plain_object`): forcing its flags would mostly draw combinations it rejects.
CHECKED = frozenset({"if", "then", "else", "not"})
#: Swarm testing: each example picks one density for all its objects, the number of optional keys of an
#: object it sets on average (at most 90 % of them). Sparse examples find single-key bugs and keep
#: overrides realistic, dense ones reach combinations of keys; the draw shrinks towards sparse.
KEYS_PER_OBJECT = {"sparse": 1, "half": 3, "dense": 8}
DENSITIES = tuple(KEYS_PER_OBJECT)
#: Half the examples sparse, 3/8 half, 1/8 dense: dense examples of a large schema cost ~8x a sparse one.
_WEIGHTED = ("sparse",) * 4 + ("half",) * 3 + ("dense",)
DENSITY = st.shared(st.sampled_from(_WEIGHTED), key="conformance-fuzz-density")
#: Feature flags, swarm-style (all on first, where hypothesis starts; the minimising pass drops the flags a
#: failure does not need): half the examples set optional keys by the density's coin; a quarter switch every
#: boolean of the values on (and draw every enum), a quarter switch them all off, so combinations of flags that
#: only fail together (two flags on and an empty list) come up in one example out of a few dozen.
FLAG_MODES = ("on", "coin", "off", "coin")
FLAGS = st.shared(st.sampled_from(FLAG_MODES), key="conformance-fuzz-flags")


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


@dataclass(frozen=True)
class Const:
    """A key's value in every example of a flag mode (a boolean flag switched on, or off)."""

    value: Any


Forced = SearchStrategy[Any] | Const


class Fields(SearchStrategy[dict[str, Any]]):
    """An object's keys: the required ones, then each optional one forced (a flag in an `on`/`off` example) or set
    by a biased coin, then extra map entries. A coin is the engine's own biased boolean (it shrinks to unset;
    hypothesis's integers skew low, so `integers(0, 99) > k` is not a fair way to set a probability), drawn
    directly rather than as a strategy: a large values tree has hundreds of optional keys.

    With `mode` None the example's density and flag mode are drawn (shared by every object); a flag skeleton
    passes its mode and sets other optional keys at the sparse density's chance.
    """

    def __init__(self, parts: dict[str, SearchStrategy[Any]], required: list[str],
                 forced: dict[tuple[str, str], Forced], mode: str | None = None,
                 extras: SearchStrategy[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.parts, self.required, self.forced, self.mode, self.extras = parts, required, forced, mode, extras
        self.optional = [k for k in parts if k not in required]
        self.chance = {d: percent_included(d, len(self.optional)) / 100 for d in DENSITIES}

    def do_draw(self, data: ConjectureData) -> dict[str, Any]:
        """Draw the object."""
        if self.mode is None:
            density, mode = data.draw(DENSITY), data.draw(FLAGS)
            # A combination of flags matters with the keys around it: flag examples are never sparse.
            chance = self.chance["half" if mode != "coin" and density == "sparse" else density]
        else:
            mode, chance = self.mode, self.chance["sparse"]
        out = {k: data.draw(self.parts[k]) for k in self.required}
        for k in self.optional:
            flag = self.forced.get((k, mode))
            if flag is not None:
                out[k] = flag.value if isinstance(flag, Const) else data.draw(flag)
            elif data.draw_boolean(chance):
                out[k] = data.draw(self.parts[k])
        if self.extras is not None:
            for k, v in data.draw(self.extras).items():
                out.setdefault(k, v)
        return out


#: Map keys people write (labels, annotations, env names, hosts): drawing keys from a `propertyNames` regex costs
#: ~30 ms each, so the keys a map's `propertyNames` accepts are picked from these first.
KEY_POOL = ("app", "team", "tier", "version", "a", "x-1", "example.com/owner", "app.kubernetes.io/part-of",
            "KEY_1", "my.key", "z9")


#: Strings values files hold (names, hosts, versions, quantities, images, durations): a `pattern` string is drawn
#: from the ones its schema accepts half the time, from the regex (hypothesis-jsonschema, ~15 ms a draw) otherwise.
STRING_POOL = (*KEY_POOL, "web", "my-app", "v1", "1.0.0", "2.53", "3.12-slim", "100m", "0.5", "128Mi", "1Gi", "10",
               "example.com", "db.example.internal", "registry.example.com/team/app", "30s", "5m",
               "sha256:" + "0" * 64, "postgresql://db:5432/app", "/data", "UTC", "0 2 * * *")


#: Keywords a pattern string may carry besides its pattern for the fast regex compiler (conformance/fuzz/regex.py);
#: the drawn string is checked against the whole node.
_PATTERN_KEYS = frozenset({"type", "pattern", "minLength", "maxLength", "not", "description", "title", "default",
                           "examples"})


def _pattern(schema: Schema) -> st.SearchStrategy[Any]:
    """A pattern string from the fast regex compiler (a few choices a string), or hypothesis-jsonschema's when the
    compiler leaves the pattern or the node to it."""
    pattern = schema.get("pattern")
    fast = pattern_strings(pattern) if isinstance(pattern, str) and not set(schema) - _PATTERN_KEYS else None
    if fast is None:
        return delegate(schema)
    return fast.filter(validator(schema).is_valid)


@lru_cache(maxsize=4096)
def _pooled(text: str) -> st.SearchStrategy[Any]:
    """Pattern strings: half the time a pool value the schema accepts (when one does), else from the regex."""
    schema = json.loads(text)
    check = validator(schema)
    pool = [v for v in STRING_POOL if check.is_valid(v)]
    return st.one_of(st.sampled_from(pool), _pattern(schema)) if pool else _pattern(schema)


@lru_cache(maxsize=256)
def key_names(rule_text: str) -> st.SearchStrategy[str]:
    """Key names valid against a `propertyNames` schema: from KEY_POOL, or drawn from the schema if none fits."""
    rule = {"type": "string", **json.loads(rule_text)}
    check = validator(rule)
    pool = [k for k in KEY_POOL if check.is_valid(k)]
    return st.sampled_from(pool) if pool else _pattern(rule)


#: Key names of a map without `propertyNames`.
KEY_NAMES = r"^[a-z][a-z0-9-]{0,11}$"


def _map_entries(schema: Schema) -> st.SearchStrategy[dict[str, Any]] | None:
    """Extra keys of a map-like object (`additionalProperties` is a schema), None for other objects."""
    extra = schema.get("additionalProperties")
    if not isinstance(extra, dict):
        return None
    rule = schema.get("propertyNames")
    names = key_names(json.dumps(rule, sort_keys=True)) if isinstance(rule, dict) else \
        pattern_strings(KEY_NAMES) or st.from_regex(KEY_NAMES)
    top = int(schema.get("maxProperties", MAX_PROPERTIES))
    return st.dictionaries(names, compile_schema(extra), max_size=max(0, min(top, MAX_PROPERTIES)))


def has_flags(schema: Any) -> bool:
    """True when a subschema is a boolean or enum feature flag, or a plain object (no combinators, which
    hypothesis-jsonschema would draw whole) that holds one."""
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "boolean" or "enum" in schema:
        return True
    props = schema.get("properties")
    return _plain_object(schema) and isinstance(props, dict) and any(has_flags(v) for v in props.values())


def _plain_object(schema: Schema) -> bool:
    props = schema.get("properties") or {}
    return _type(schema) == "object" and not DELEGATED & schema.keys() and \
        all(k in props for k in schema.get("required", []))


def _checked(schema: Schema, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An object node's strategy, filtered by the node's CHECKED keywords when it has any."""
    rule = {k: schema[k] for k in CHECKED if k in schema}
    return strategy.filter(validator(rule).is_valid) if rule else strategy


def _flag(schema: Schema, mode: str) -> Forced:
    """A flag in an `on` or `off` example: a boolean forced, an enum drawn, an object as its flag skeleton."""
    if schema.get("type") == "boolean":
        return Const(mode == "on")
    if _plain_object(schema):
        return _skeleton(json.dumps(schema, sort_keys=True), mode)
    return compile_schema(schema)


@lru_cache(maxsize=4096)
def _skeleton(text: str, mode: str) -> st.SearchStrategy[Any]:
    """An object's flags in an `on`/`off` example: every flag set, other optional keys rarely (sparse), so a
    flag example stays small on a large chart."""
    schema: Schema = json.loads(text)
    props: dict[str, Any] = schema.get("properties") or {}
    required = list(schema.get("required", []))
    flags = {(k, mode): _flag(props[k], mode) for k in props if k not in required and has_flags(props[k])}
    return Fields({k: compile_schema(props[k]) for k in props}, required, flags, mode)


def _object(schema: Schema) -> st.SearchStrategy[Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = [k for k in schema.get("required", []) if k in props]
    if len(required) != len(schema.get("required", [])):
        return delegate(schema)
    forced = {(k, mode): _flag(props[k], mode) for k in props if k not in required and has_flags(props[k])
              for mode in ("on", "off")}
    return _checked(schema, Fields({k: compile_schema(props[k]) for k in props}, required, forced,
                                   extras=_map_entries(schema)))


def _array(schema: Schema) -> st.SearchStrategy[Any]:
    items = schema.get("items", {})
    if not isinstance(items, dict) or "contains" in schema or "additionalItems" in schema:
        return delegate(schema)
    unique = bool(schema.get("uniqueItems"))
    item = compile_schema(items)
    low, high = int(schema.get("minItems", 0)), int(schema.get("maxItems", 3))
    by = (lambda x: json.dumps(x, sort_keys=True)) if unique else None

    @st.composite
    def draw(data: st.DrawFn) -> list[Any]:
        size = data(boundary_or_between(low, high))
        return data(st.lists(item, min_size=size, max_size=size, unique_by=by))

    return draw()


def boundary_or_between(low: int, high: int) -> st.SearchStrategy[int]:
    """An integer in [low, high], half the time one of the bounds (empty and full lists, minimum and
    maximum numbers, zero when allowed), where off-by-one and divide-by-zero bugs live; shrinks to `low`."""
    edges = sorted({low, high, *(v for v in (0, low + 1, high - 1) if low <= v <= high)})
    return st.one_of(st.integers(low, high), st.sampled_from(edges))


_NUMBER_KEYS = frozenset({"type", "minimum", "maximum", "description", "default", "title", "examples"})


def _integer(schema: Schema) -> st.SearchStrategy[Any] | None:
    """A plain bounded integer (bounds always set by `schema.bounded`), boundary-weighted."""
    if set(schema) - _NUMBER_KEYS or not {"minimum", "maximum"} <= schema.keys():
        return None
    low, high = math.ceil(schema["minimum"]), math.floor(schema["maximum"])
    return boundary_or_between(low, high) if low <= high else None


#: Characters of free-text strings: what people type into a values file (letters, digits, spaces, `-_./@`).
#: Strings with YAML syntax in them (`: `, `#`, `*`, `&`, control characters) are the opt-in quoting check
#: (conformance/fuzz/quoting.py, --fuzz-yaml-strings on), reported as warnings, not as render crashes.
TEXT = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./@")


def _text(schema: Schema) -> st.SearchStrategy[Any] | None:
    """Free text (no pattern, format or enum): printable characters within the length bounds."""
    if set(schema) - {"type", "minLength", "maxLength", "description", "title", "default", "examples"}:
        return None
    return st.text(TEXT, min_size=int(schema.get("minLength", 0)), max_size=int(schema.get("maxLength", 24)))


def _string(schema: Schema, text: str) -> st.SearchStrategy[Any] | None:
    """Free text, or a pattern string partly drawn from the pool; None for other strings."""
    free = _text(schema)
    if free is not None or "pattern" not in schema:
        return free
    return _pooled(text)


_SCALARS = frozenset({"string", "integer", "number", "boolean", "null"})
#: Keywords that only constrain values of one type (JSON Schema ignores them for values of other types).
_ONLY_FOR = {"string": frozenset({"pattern", "minLength", "maxLength", "format"}),
             "number": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})}


def _one_type(schema: Schema, kind: str) -> Schema:
    """The node for values of one of its types: the keywords of the other types dropped."""
    own = "number" if kind == "integer" else kind
    drop = frozenset().union(*(keys for owner, keys in _ONLY_FOR.items() if owner != own))
    return {**{k: v for k, v in schema.items() if k not in drop}, "type": kind}


def _each_type(schema: Schema) -> st.SearchStrategy[Any] | None:
    """A node allowing several scalar types (`["string", "integer"]` quantities): one strategy per type."""
    kinds = schema.get("type")
    if not isinstance(kinds, list) or not set(kinds) <= _SCALARS or DELEGATED & schema.keys():
        return None
    return st.one_of([compile_schema(_one_type(schema, str(k))) for k in kinds])


@lru_cache(maxsize=4096)
def _compile(text: str) -> st.SearchStrategy[Any]:
    schema: Schema = json.loads(text)
    kind = _type(schema)
    scalar = _each_type(schema) if kind is None else _string(schema, text) if kind == "string" else None
    if scalar is not None:
        return scalar
    if kind == "object" and not (DELEGATED - CHECKED) & schema.keys():
        return _object(schema)
    if kind == "array" and not DELEGATED & schema.keys():
        return _array(schema)
    if kind == "boolean" and len(set(schema) - {"type", "description", "default", "title"}) == 0:
        return st.booleans()
    if kind == "integer" and (number := _integer(schema)) is not None:
        return number
    return delegate(schema)


def compile_schema(schema: Any) -> st.SearchStrategy[Any]:
    """A strategy of values valid against a (ref-free, bounded) schema, compiled once per subschema."""
    if schema is True or schema == {}:
        return delegate({})
    if not isinstance(schema, dict):
        return st.nothing()
    return _compile(json.dumps(schema, sort_keys=True))
