"""Custom resources validated against their CustomResourceDefinitions: the CRDs the chart renders and those
`--crds DIR` supplies (`ctx.extras["crds"]`), by the served version's `openAPIV3Schema`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import jsonschema

from conformance.rules.base import Context, Obj, Violation, rule

CRD_KIND = "CustomResourceDefinition"


def crds_of(ctx: Context) -> list[Obj]:
    """Every CRD the rule knows: rendered ones first, then the ones given with --crds."""
    given = ctx.extras.get("crds") or ()
    return [o for o in (*ctx.objects, *given) if isinstance(o, dict) and o.get("kind") == CRD_KIND]


def crd_for(obj: Obj, ctx: Context) -> Obj | None:
    """The CRD that defines an object's group and kind, if known."""
    api = str(obj.get("apiVersion", ""))
    if "/" not in api:
        return None
    group = api.split("/", 1)[0]
    for crd in crds_of(ctx):
        spec = crd.get("spec") or {}
        if spec.get("group") == group and (spec.get("names") or {}).get("kind") == obj.get("kind"):
            return crd
    return None


def _structural(node: Any, top: bool = False) -> Any:
    """A CRD's OpenAPI v3 schema as JSON Schema: nullable, int-or-string and preserve-unknown-fields honoured,
    and unknown fields rejected where the schema lists properties (as strict field validation does)."""
    if isinstance(node, list):
        return [_structural(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _structural(v) for k, v in node.items()
           if not k.startswith("x-kubernetes-") and k not in ("nullable", "format")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if top:
        out.setdefault("properties", {})
        for key in ("apiVersion", "kind", "metadata"):
            out["properties"].setdefault(key, {})
    if "properties" in node and "additionalProperties" not in node and not node.get(
            "x-kubernetes-preserve-unknown-fields") and not node.get("x-kubernetes-embedded-resource"):
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=128)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    cls: Any = jsonschema.validators.Draft202012Validator
    validator: jsonschema.protocols.Validator = cls(_structural(json.loads(schema_json), top=True))
    return validator


def _path(err: jsonschema.ValidationError) -> str:
    out = ""
    for part in err.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@rule("custom-resources", "schema", "error")
def custom_resources(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """A custom resource is valid against the openAPIV3Schema of its CRD (rendered, or given with --crds)."""
    crd = crd_for(obj, ctx)
    if crd is None:
        return
    version = str(obj.get("apiVersion", "")).split("/", 1)[1]
    name = str((crd.get("metadata") or {}).get("name", ""))
    served = [v for v in (crd.get("spec") or {}).get("versions") or [] if v.get("name") == version]
    if not served or served[0].get("served") is False:
        yield Violation(f"CRD {name} serves no version {version!r}", "apiVersion", "version",
                        remediation=f"use a version CRD {name} serves")
        return
    schema = ((served[0].get("schema") or {}).get("openAPIV3Schema")) or {}
    if not schema:
        return
    validator = _validator(json.dumps(schema, sort_keys=True))
    body = {k: v for k, v in obj.items() if k != "status"}
    for err in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        unknown = err.validator == "additionalProperties"
        msg = err.message if len(err.message) < 300 else err.message[:297] + "..."
        yield Violation(f"CRD {name} {version}: {msg}", _path(err), "unknown-field" if unknown else "schema",
                        remediation="fix the field in the template (an unknown field is usually a typo or wrong "
                        "indentation; the API server would drop or reject it)")
