"""Kubernetes API schema rules: every object valid for the target version, offline, unknown fields rejected.

Schemas are the strict OpenAPI-derived JSON schemas shipped in the `kubernetes-validate` package; they are
loaded once per version and kind (the package's own `validate()` re-reads them for every object and stops
at the first error, so the registry is built here and every error is reported).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

from conformance.rules.api import removed_at
from conformance.rules.base import Context, Obj, Violation, rule
from conformance.rules.crds import crd_for

_PKG = "kubernetes_validate"


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v)[:3])


@lru_cache(maxsize=1)
def schema_versions() -> tuple[str, ...]:
    """Kubernetes versions with strict schemas available, oldest first (e.g. '1.35.0')."""
    root = resources.files(_PKG).joinpath("kubernetes-json-schema")
    names = {p.name[1:].removesuffix("-local-strict") for p in root.iterdir() if p.name.endswith("-local-strict")}
    return tuple(sorted(names, key=_version_key))


def schema_version_for(kube_version: str) -> str | None:
    """The newest schema version not newer than the target's minor version, or None if none fits."""
    want = _version_key(kube_version)[:2]
    fits = [v for v in schema_versions() if _version_key(v)[:2] <= want]
    return fits[-1] if fits else None


@lru_cache(maxsize=4)
def _definitions(version: str) -> Resource[Any]:
    path = resources.files(_PKG).joinpath(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json")
    return Resource.from_contents(json.loads(path.read_text()))


_REF: Any = jsonschema.Draft202012Validator.VALIDATORS["$ref"]
#: Subschemas holding a `$ref` (by id) and the instances (by repr: equal reprs are equal values of equal types)
#: found valid against them. Most of a rendered object repeats across renders (a fuzzed value changes a container's
#: resources, not its probes or its pod's metadata), so a changed object is validated only where it changed.
_VALID: dict[tuple[int, str], Any] = {}
_VALID_MAX = 20_000


def _ref(validator: Any, ref: str, instance: Any, schema: Obj) -> Iterator[jsonschema.ValidationError]:
    """jsonschema's `$ref`, skipping an object or list already found valid against this `$ref` (same errors)."""
    if not isinstance(instance, dict | list):
        yield from _REF(validator, ref, instance, schema)
        return
    key = (id(schema), repr(instance))
    if _VALID.get(key) is schema:
        return
    errors = list(_REF(validator, ref, instance, schema))
    if errors:
        yield from errors
        return
    if len(_VALID) >= _VALID_MAX:
        _VALID.clear()
    _VALID[key] = schema


_EXTEND: Any = jsonschema.validators.extend  # untyped in types-jsonschema
_Validator: Any = _EXTEND(jsonschema.Draft202012Validator, {"$ref": _ref})


@lru_cache(maxsize=256)
def validator_for(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    """A cached strict validator for one kind and apiVersion, or None when there is no schema."""
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = resources.files(_PKG).joinpath(
        f"kubernetes-json-schema/v{version}-local-strict/{kind.lower()}-{group}.json"
    )
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    validator: jsonschema.protocols.Validator = _Validator(schema, registry=registry(version, schema))
    return validator


def registry(version: str, schema: Obj) -> Registry[Any]:
    """The references of a kind's schema: itself and the version's `_definitions.json`."""
    found: Registry[Any] = Resource.from_contents(schema) @ (_definitions(version) @ Registry())
    return found


def _path(err: jsonschema.ValidationError) -> str:
    out = ""
    for part in err.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_errors(obj: Obj, kube_version: str) -> Iterator[jsonschema.ValidationError] | None:
    version = schema_version_for(kube_version)
    if version is None:
        return None
    validator = validator_for(version, str(obj.get("kind", "")), str(obj.get("apiVersion", "")))
    if validator is None:
        return None
    return validator.iter_errors(obj)


@rule("k8s-schema", "schema", "error")
def valid_for_kubernetes(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """The object validates against the strict Kubernetes schema of the target version (unknown fields fail)."""
    return iter(_violations(json.dumps(obj, sort_keys=True, default=str), ctx.kube_version))


@lru_cache(maxsize=4096)
def _violations(obj_json: str, kube_version: str) -> tuple[Violation, ...]:
    """The schema violations of an object (by its JSON text: the same object in many scenarios or fuzz examples
    is validated once)."""
    errors = _schema_errors(json.loads(obj_json), kube_version)
    return tuple(
        Violation(
            f"Kubernetes {kube_version} schema: {msg if len(msg := err.message) < 300 else msg[:297] + '...'}",
            _path(err), err.validator if isinstance(err.validator, str) else "schema",
            remediation="fix the field in the template (an unknown field is usually a typo or wrong indentation)",
        )
        for err in sorted(errors or [], key=lambda e: list(map(str, e.absolute_path)))
    )


@rule("k8s-schema-known", "schema", "warning")
def kind_is_known(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """The object's apiVersion and kind exist in the target Kubernetes version or a known CRD (else not validated)."""
    version = schema_version_for(ctx.kube_version)
    kind, api = str(obj.get("kind", "")), str(obj.get("apiVersion", ""))
    if version is None:
        yield Violation(f"no Kubernetes schemas for {ctx.kube_version}; available: {', '.join(schema_versions())}",
                        "", "version", remediation="pass a --kube-version that has schemas")
    elif validator_for(version, kind, api) is None and not removed_at(obj, ctx.kube_version) \
            and crd_for(obj, ctx) is None:  # api-removed and custom-resources report those
        yield Violation(
            f"{api} {kind} is not a built-in API of Kubernetes {ctx.kube_version} (a CRD, or removed): not validated",
            "apiVersion", "unknown-kind",
            remediation="use a served apiVersion; for a custom resource render its CRD or pass --crds DIR",
        )
