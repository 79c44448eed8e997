"""Preparing a chart's values.schema.json for generation: inline `$ref`s, bound sizes, relax `required`."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

Schema = dict[str, Any]

#: Sizes that keep generated values realistic: a few list items and map keys, short free-text strings.
MAX_ITEMS = 3
MAX_PROPERTIES = 3
MAX_LENGTH = 24
INT_RANGE = (-(2**31), 2**31 - 1)
#: Keywords holding {name: subschema} maps, and keywords holding a subschema or a list of them.
MAPS = ("properties", "patternProperties", "dependencies", "definitions", "$defs")
SUBSCHEMAS = ("items", "additionalItems", "additionalProperties", "contains", "propertyNames", "not", "if",
              "then", "else", "allOf", "anyOf", "oneOf")


def _pointer(root: Schema, ref: str) -> Any:
    """The subschema a local `#/a/b` reference names."""
    node: Any = root
    for part in ref.lstrip("#/").split("/") if ref not in ("#", "#/") else []:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline_refs(schema: Schema, root: Schema | None = None, seen: tuple[str, ...] = ()) -> Any:
    """The schema with local `$ref`s replaced by their targets (recursive references are left in place)."""
    root = schema if root is None else root
    if isinstance(schema, list):
        return [inline_refs(s, root, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#") and ref not in seen:
        target = inline_refs(_pointer(root, ref), root, (*seen, ref))
        rest = {k: inline_refs(v, root, seen) for k, v in schema.items() if k != "$ref"}
        return {**target, **rest} if isinstance(target, dict) else target
    return {k: inline_refs(v, root, seen) for k, v in schema.items()}


def _modernise(node: Schema) -> Schema:
    """Draft 2019-09/2020-12 spellings rewritten to the draft-07 ones hypothesis-jsonschema reads."""
    out = dict(node)
    if "dependentRequired" in out or "dependentSchemas" in out:
        deps = {**out.pop("dependentRequired", {}), **out.pop("dependentSchemas", {})}
        out["dependencies"] = {**out.get("dependencies", {}), **deps}
    if isinstance(out.get("prefixItems"), list):
        out["items"], extra = out.pop("prefixItems"), out.get("items")
        out["additionalItems"] = extra if extra is not None else True
    return out


def _bound(node: Schema) -> Schema:
    """One schema node with sizes capped (never below its own minimums)."""
    out = dict(node)
    types = out.get("type")
    kinds = {str(t) for t in types} if isinstance(types, list) else {types} if isinstance(types, str) else set()
    if "items" in out or "array" in kinds:
        out["maxItems"] = max(min(out.get("maxItems", MAX_ITEMS), MAX_ITEMS), out.get("minItems", 0))
    if isinstance(out.get("additionalProperties"), dict) or "patternProperties" in out:
        floor = max(out.get("minProperties", 0), len(out.get("required", [])))
        out["maxProperties"] = max(min(out.get("maxProperties", MAX_PROPERTIES), MAX_PROPERTIES), floor)
    free_text = not any(k in out for k in ("pattern", "enum", "const", "format"))
    if "string" in kinds and free_text:
        out["maxLength"] = max(min(out.get("maxLength", MAX_LENGTH), MAX_LENGTH), out.get("minLength", 0))
    if kinds & {"integer", "number"} and "exclusiveMinimum" not in out:
        out["minimum"] = max(out.get("minimum", INT_RANGE[0]), INT_RANGE[0])
    if kinds & {"integer", "number"} and "exclusiveMaximum" not in out:
        out["maximum"] = min(out.get("maximum", INT_RANGE[1]), INT_RANGE[1])
    return out


def bounded(schema: Any) -> Any:
    """Every node of a (ref-free) schema with bounded sizes and 2020-12 keywords in draft-07 form."""
    if isinstance(schema, list):
        return [bounded(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Schema = {}
    for key, value in _bound(_modernise(schema)).items():
        if key in MAPS and isinstance(value, dict):
            out[key] = {k: bounded(v) for k, v in value.items()}
        elif key in SUBSCHEMAS:
            out[key] = bounded(value)
        else:
            out[key] = value
    return out


def sparse(schema: Any) -> Any:
    """The schema of a partial override: `required` dropped along `properties` chains from the root.

    An override is merged over the defaults, which supply required keys; list items, map entries and
    conditional subschemas keep `required` because they are replaced whole or describe the merged value.
    """
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k != "required"}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: sparse(v) for k, v in out["properties"].items()}
    return out


#: Dicts and lists of chart defaults (by id) that merged examples share and nobody mutates, and the subschemas
#: each was found valid against: a sparse override leaves most of a large values tree at its defaults, so each
#: example's validation descends only into what the override changed.
_SHARED: dict[int, Any] = {}
_VALID: dict[tuple[int, int], tuple[Any, Any]] = {}


def share(defaults: Any) -> None:
    """Register the dicts and lists of a chart's defaults as shared subtrees (never to be mutated)."""
    stack = [defaults]
    while stack:
        node = stack.pop()
        if _SHARED.get(id(node)) is not node:
            _SHARED[id(node)] = node
            stack += [v for v in (node.values() if isinstance(node, dict) else node) if isinstance(v, dict | list)]


def _properties(check: Any, properties: dict[str, Any], instance: Any,
                schema: Schema) -> Iterator[jsonschema.ValidationError]:
    """jsonschema's `properties`, skipping a shared defaults subtree already found valid against the subschema."""
    if not check.is_type(instance, "object"):
        return
    for prop, sub in properties.items():
        if prop not in instance:
            continue
        child = instance[prop]
        if _SHARED.get(id(child)) is child:
            key = (id(sub), id(child))
            hit = _VALID.get(key)
            if hit is not None and hit[0] is sub:
                continue
            if next(check.descend(child, sub, path=prop, schema_path=prop), None) is None:
                _VALID[key] = (sub, child)
                continue
        yield from check.descend(child, sub, path=prop, schema_path=prop)


@lru_cache(maxsize=8)
def _sharing(cls: type[Validator]) -> type[Validator]:
    extend: Any = jsonschema.validators.extend  # untyped in types-jsonschema
    extended: type[Validator] = extend(cls, {"properties": _properties})
    return extended


_VALIDATORS: dict[int, tuple[Schema, Validator]] = {}


def validator(schema: Schema) -> Validator:
    """A validator of the schema's own draft (draft-07 when it names none), built once per schema object; it
    validates a shared defaults subtree once per subschema (not with `$dynamicRef`/`$recursiveRef`, whose
    target depends on the path taken)."""
    hit = _VALIDATORS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    dynamic = any(k in json.dumps(schema) for k in ('"$dynamicRef"', '"$recursiveRef"'))
    made: Validator = (cls if dynamic else _sharing(cls))(schema)
    _VALIDATORS[id(schema)] = (schema, made)
    return made


def first_error(schema: Schema, values: Any) -> str:
    """The first schema violation of `values` as `path: message`, or "" when they are valid."""
    check = validator(schema)
    if check.is_valid(values):
        return ""
    err = min(check.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path])
    where = "/".join(str(p) for p in err.absolute_path) or "(root)"
    return f"{where}: {err.message}"


def generation_schema(schema: Schema) -> Schema:
    """The schema overrides are drawn from: refs inlined, sizes bounded, `required` relaxed."""
    inlined = inline_refs(copy.deepcopy(schema))
    body = {k: v for k, v in inlined.items() if k not in ("$schema", "$id", "$defs", "definitions")}
    result: Schema = sparse(bounded(body))
    return result
