"""Label rules: recommended labels on every object, selectors that match and stay stable across releases."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.rules.base import Context, Obj, Violation, pod_metadata, pod_spec, rule

REQUIRED = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by", "helm.sh/chart")
RECOMMENDED = ("app.kubernetes.io/component", "app.kubernetes.io/part-of")
#: Labels whose values change from one release or chart version to the next.
VOLATILE = frozenset({"app.kubernetes.io/version", "helm.sh/chart", "chart", "version", "heritage"})
SELECTOR_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


def _labels(meta: Obj) -> dict[str, str]:
    return {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}


def _missing(obj: Obj, keys: tuple[str, ...], check: str) -> Iterator[Violation]:
    have = _labels(obj.get("metadata") or {})
    for key in keys:
        if not have.get(key):
            yield Violation(
                f"metadata.labels is missing {key}", "metadata.labels", check,
                remediation=f"add {key} to metadata.labels (include the chart's common labels helper)",
            )


@rule("labels-recommended", "labels", "error")
def labels_recommended(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Every object carries app.kubernetes.io/name, instance, version, managed-by and helm.sh/chart."""
    yield from _missing(obj, REQUIRED, "required")


@rule("labels-component", "labels", "warning")
def labels_component(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Every object carries app.kubernetes.io/component and app.kubernetes.io/part-of."""
    yield from _missing(obj, RECOMMENDED, "recommended")


def selector_of(obj: Obj) -> tuple[dict[str, str], list[Obj], str] | None:
    """An object's label selector as (matchLabels, matchExpressions, path), or None when it has none."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Service":
        sel = spec.get("selector")
        return ({str(k): str(v) for k, v in sel.items()}, [], "spec.selector") if sel else None
    if kind == "NetworkPolicy":
        sel, path = spec.get("podSelector"), "spec.podSelector"
    elif kind in SELECTOR_KINDS or kind == "PodDisruptionBudget":
        sel, path = spec.get("selector"), "spec.selector"
    else:
        return None
    if not isinstance(sel, dict):
        return None
    match = {str(k): str(v) for k, v in (sel.get("matchLabels") or {}).items()}
    return match, list(sel.get("matchExpressions") or []), path


def selects(match: dict[str, str], exprs: list[Obj], labels: dict[str, str]) -> bool:
    """True when a label selector selects a set of labels (matchLabels and matchExpressions)."""
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for e in exprs:
        key, op, values = e.get("key", ""), e.get("operator", ""), [str(v) for v in e.get("values") or []]
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(op, False)
        if not ok:
            return False
    return True


@rule("labels-selector-match", "labels", "error", kinds=SELECTOR_KINDS)
def selector_matches_template(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """A workload's selector selects its own pod template's labels (else the API server rejects it)."""
    sel = selector_of(obj)
    if sel is None:
        return
    match, exprs, path = sel
    if not match and not exprs:
        if obj.get("kind") != "Job":
            yield Violation("selector is empty", path, "empty", remediation="set selector.matchLabels "
                            "to the chart's selectorLabels helper")
        return
    labels = _labels(pod_metadata(obj))
    if not selects(match, exprs, labels):
        yield Violation(
            f"{path} {match} does not select the pod template labels {labels}", path, "template",
            remediation="use the same selectorLabels helper in the selector and in spec.template.metadata.labels",
        )


@rule("labels-selector-stable", "labels", "error")
def selector_is_stable(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Selectors use no label that changes between releases (version, chart): they are immutable."""
    sel = selector_of(obj)
    if sel is None:
        return
    match, exprs, path = sel
    own = _labels(obj.get("metadata") or {})
    changing = {own[k] for k in ("app.kubernetes.io/version", "helm.sh/chart") if own.get(k)}
    keys = set(match) | {str(e.get("key", "")) for e in exprs}
    for key in sorted(keys):
        if key in VOLATILE or (match.get(key) in changing):
            yield Violation(
                f"{path} uses {key}, which changes between releases; upgrades would fail or orphan pods",
                f"{path}.{key}", "volatile",
                remediation=f"remove {key} from the selector (keep name, instance, component)",
            )


def _pod_templates(ctx: Context) -> Iterator[tuple[Obj, dict[str, str]]]:
    for other in ctx.objects:
        if pod_spec(other) is not None:
            yield other, _labels(pod_metadata(other))


@rule("labels-service-selector", "labels", "error", kinds={"Service"})
def service_selects_pods(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """A Service with a selector selects the pods of at least one workload rendered by the chart."""
    sel = selector_of(obj)
    if sel is None or not ctx.objects:
        return
    match, _, path = sel
    if not any(selects(match, [], labels) for _, labels in _pod_templates(ctx)):
        yield Violation(
            f"{path} {match} selects no pod template in the chart", path, "orphan",
            remediation="make the Service selector equal to the target workload's selectorLabels",
        )
