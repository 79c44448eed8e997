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
#: Labels a controller adds to the pods it creates, by the workload kinds whose pods carry them: a selector on
#: one of them selects pods of those kinds although the chart's pod template does not write it.
CONTROLLER_LABELS: dict[str, frozenset[str]] = {
    "statefulset.kubernetes.io/pod-name": frozenset({"StatefulSet"}),
    "apps.kubernetes.io/pod-index": frozenset({"StatefulSet"}),
    "controller-revision-hash": frozenset({"StatefulSet", "DaemonSet"}),
    "pod-template-generation": frozenset({"DaemonSet"}),
    "pod-template-hash": frozenset({"Deployment"}),
    "batch.kubernetes.io/job-name": frozenset({"Job", "CronJob"}),
    "job-name": frozenset({"Job", "CronJob"}),
    "batch.kubernetes.io/controller-uid": frozenset({"Job", "CronJob"}),
    "controller-uid": frozenset({"Job", "CronJob"}),
    "batch.kubernetes.io/job-completion-index": frozenset({"Job", "CronJob"}),
}


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


def pod_labels(obj: Obj) -> dict[str, str]:
    """The labels a workload's pods carry, as far as the chart decides them (its pod template's labels)."""
    return _labels(pod_metadata(obj))


def selects_pods_of(match: dict[str, str], exprs: list[Obj], workload: Obj) -> bool:
    """True when a selector selects the pods a workload's controller creates (controller-added labels count)."""
    kind = str(workload.get("kind", ""))
    added = {k for k, kinds in CONTROLLER_LABELS.items() if kind in kinds}
    labels = pod_labels(workload)
    plain = {k: v for k, v in match.items() if k not in added or k in labels}
    rest = [e for e in exprs if e.get("key") not in added or e.get("key") in labels]
    return selects(plain, rest, labels)


def _pod_templates(ctx: Context) -> Iterator[Obj]:
    for other in ctx.objects:
        if pod_spec(other) is not None:
            yield other


@rule("labels-service-selector", "labels", "error", kinds={"Service"})
def service_selects_pods(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """A Service with a selector selects the pods of at least one workload rendered by the chart."""
    sel = selector_of(obj)
    if sel is None or not ctx.objects:
        return
    match, _, path = sel
    if not any(selects_pods_of(match, [], w) for w in _pod_templates(ctx)):
        yield Violation(
            f"{path} {match} selects no pod template in the chart", path, "orphan",
            remediation="make the Service selector equal to the target workload's selectorLabels",
        )
