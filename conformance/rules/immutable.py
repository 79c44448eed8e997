"""Immutable fields that must not change from one release to the next, caught in the render tier.

The render tier renders each scenario a second time from a varied copy of the chart: the next patch
version, another appVersion, `.Release.Revision` one higher and `now` two days later (random functions
differ by themselves). Anything that then differs inside a field the API server refuses to update makes
`helm upgrade` fail on a live cluster; the rule names that field before any install.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.rules.base import Context, Obj, Violation, rule
from conformance.rules.labels import selector_is_stable

#: Immutable fields by kind (paths into the object), as the API server's update validation enforces them.
IMMUTABLE: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec.selector",),
    "ReplicaSet": ("spec.selector",),
    "DaemonSet": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.volumeClaimTemplates", "spec.serviceName", "spec.podManagementPolicy"),
    "Job": ("spec.selector", "spec.template"),
}
#: The key in `Context.extras` holding the varied render: {"Kind/name": object}.
VARIANT = "variant"


def ref(obj: Obj) -> str:
    """`Kind/name` of an object."""
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def at(obj: Any, path: str) -> Any:
    """The value at a dotted path (None when absent)."""
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def differences(old: Any, new: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """Every leaf path where two values differ, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from differences(old.get(key), new.get(key), f"{path}.{key}")
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from differences(a, b, f"{path}[{i}]")
    elif old != new:
        yield path, old, new


def immutable_changes(old: Obj, new: Obj) -> list[tuple[str, Any, Any]]:
    """Where an object's immutable fields differ between two renders (path, old value, new value)."""
    out: list[tuple[str, Any, Any]] = []
    for field in IMMUTABLE.get(str(new.get("kind", "")), ()):
        out += differences(at(old, field), at(new, field), field)
    return out


def _is_hook(obj: Obj) -> bool:
    return "helm.sh/hook" in ((obj.get("metadata") or {}).get("annotations") or {})


@rule("immutable-fields-stable", "upgrade", "error", kinds=IMMUTABLE)
def immutable_fields_stable(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Immutable fields (selectors, volumeClaimTemplates, serviceName, Job templates) do not vary by release."""
    variant = (ctx.extras.get(VARIANT) or {}).get(ref(obj))
    if variant is None or _is_hook(obj):  # hooks are recreated, not updated
        return
    owned = bool(list(selector_is_stable(obj, ctx)))  # labels-selector-stable already reports that selector
    for path, old, new in immutable_changes(obj, variant):
        if owned and path.startswith("spec.selector"):
            continue
        field = next(f for f in IMMUTABLE[str(obj["kind"])] if path.startswith(f))
        yield Violation(
            f"{path} changes with the chart version, appVersion, revision or time ({old!r} -> {new!r}); "
            f"{field} is immutable, so `helm upgrade` to the next release fails",
            path, field.rpartition(".")[2],
            remediation=f"keep {field} free of values that vary per release: use only selector labels there "
            "(no helm.sh/chart, app.kubernetes.io/version, .Release.Revision, now or rand*)",
        )
