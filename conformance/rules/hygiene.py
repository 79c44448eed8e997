"""Workload hygiene: resources, probes, pinned images, RBAC without wildcards, no needless API tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from conformance.rules.base import WORKLOAD_KINDS, Context, Obj, Violation, pod_containers, pod_spec, rule

LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"})
RBAC_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})


@rule("resources", "hygiene", "error", kinds=WORKLOAD_KINDS)
def requests_and_limits(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Every container and init container sets cpu and memory requests and limits."""
    for c, path, fld in pod_containers(obj):
        if fld == "ephemeralContainers":
            continue  # ephemeral containers cannot set resources
        res = c.get("resources") or {}
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if not (res.get(section) or {}).get(resource):
                    name = str(c.get("name", ""))
                    yield Violation(
                        f'container "{name}" has no {section}.{resource}', f"{path}.resources.{section}",
                        f"{section}.{resource}", name,
                        remediation=f"set resources.{section}.{resource} for {name!r} in the chart's values",
                    )


@rule("probes", "hygiene", "error", kinds=LONG_RUNNING)
def liveness_and_readiness(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Every container of a long-running workload has a liveness and a readiness probe."""
    for c, path, fld in pod_containers(obj):
        if fld != "containers":
            continue
        name = str(c.get("name", ""))
        for probe in ("livenessProbe", "readinessProbe"):
            if not c.get(probe):
                yield Violation(
                    f'container "{name}" has no {probe}', f"{path}.{probe}", probe, name,
                    remediation=f"add a {probe} to {name!r} (an HTTP or TCP check of the port it serves)",
                )


def image_tag(image: str) -> str | None:
    """The tag of an image reference ('' when untagged), or None when it is pinned by digest."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


@rule("image-pinned", "hygiene", "error", kinds=WORKLOAD_KINDS)
def image_pinned(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Every image names an explicit tag other than `latest`, or a digest."""
    for c, path, _ in pod_containers(obj):
        image, name = str(c.get("image", "")), str(c.get("name", ""))
        tag = image_tag(image)
        if not image.strip():
            yield Violation(f'container "{name}" has an empty image', f"{path}.image", "empty", name,
                            remediation="set the image repository and tag in values")
        elif tag is not None and tag in ("", "latest"):
            yield Violation(
                f'container "{name}" image {image!r} is not pinned (tag {tag or "missing"})', f"{path}.image",
                "latest" if tag else "untagged", name,
                remediation="set image.tag to a released version (or pin a digest)",
            )


@rule("rbac-no-wildcard", "hygiene", "error", kinds=RBAC_KINDS)
def rbac_no_wildcard(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Roles and ClusterRoles grant no `*` apiGroups, resources, verbs or nonResourceURLs."""
    for i, r in enumerate(obj.get("rules") or []):
        for fld in ("apiGroups", "resources", "verbs", "nonResourceURLs"):
            if any("*" in str(v) for v in r.get(fld) or []):
                yield Violation(
                    f"rules[{i}].{fld} contains a wildcard", f"rules[{i}].{fld}", fld,
                    remediation=f"list the exact {fld} the component needs",
                )


def _bound_accounts(ctx: Context) -> set[tuple[str, str]]:
    """(namespace, name) of every ServiceAccount that a rendered RoleBinding or ClusterRoleBinding binds."""
    out = set()
    for o in ctx.objects:
        if o.get("kind") in BINDING_KINDS:
            ns = str((o.get("metadata") or {}).get("namespace", "") or "")
            for s in o.get("subjects") or []:
                if s.get("kind") == "ServiceAccount":
                    out.add((str(s.get("namespace", ns) or ""), str(s.get("name", ""))))
    return out


def _account_disables_token(ctx: Context, ns: str, name: str) -> bool:
    for o in ctx.objects:
        meta = o.get("metadata") or {}
        if o.get("kind") == "ServiceAccount" and meta.get("name") == name and (meta.get("namespace") or "") == ns:
            return o.get("automountServiceAccountToken") is False
    return False


@rule("sa-token-automount", "hygiene", "error", kinds=WORKLOAD_KINDS)
def no_needless_token(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Pods mount no API token unless their ServiceAccount is bound to a role (it needs the API)."""
    found = pod_spec(obj)
    if found is None:
        return
    spec, base = found
    ns = str((obj.get("metadata") or {}).get("namespace", "") or "")
    account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    if spec.get("automountServiceAccountToken") is False:
        return
    if any(a == account for _, a in _bound_accounts(ctx)):
        return
    if spec.get("automountServiceAccountToken") is None and _account_disables_token(ctx, ns, account):
        return
    yield Violation(
        f"pod mounts a ServiceAccount token ({account!r}) but no rendered role binds that account",
        f"{base}.automountServiceAccountToken", "automount",
        remediation="set automountServiceAccountToken: false on the pod (or ServiceAccount) in the chart",
    )


@rule("kubesec-score", "hygiene", "error", kinds=WORKLOAD_KINDS - {"ReplicationController"})
def kubesec_score(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """The workload scores above 7 with the real kubesec binary (SC-007); its advice says how to gain points."""
    scores = ctx.extras.get("kubesec") or {}
    meta = obj.get("metadata") or {}
    key = f"{obj.get('kind')}/{meta.get('name')}"
    if key not in scores:
        return
    score, advice = scores[key]
    if score <= 7:
        hint = "; ".join(advice[:4]) or "see kubesec's advice"
        yield Violation(f"kubesec score {score} is not above 7", "", "score", remediation=hint)


#: Env var names that hold secrets, and the suffixes that say the variable holds something else (a path, an ID,
#: a switch or a Secret's name) even when the name contains a secret word.
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?"
                         r"|CLIENT_?SECRET|AUTH_?KEY)", re.IGNORECASE)
NOT_SECRET_SUFFIX = re.compile(r"_(FILE|PATH|DIR|NAME|REF|ID|ENABLED|ENABLE|TTL|EXPIRY|EXPIRATION|TIMEOUT|LENGTH|"
                               r"TYPE|MODE|HEADER|FIELD|ENDPOINT|URL|URI|KEY_NAME|SECRET_NAME|POLICY|LIFETIME|"
                               r"SECONDS|MINUTES|HOURS|DAYS|MAX|MIN|SIZE|COUNT|ALGORITHM|FORMAT)$", re.IGNORECASE)
NOT_SECRET_VALUE = frozenset({"", "true", "false", "yes", "no", "on", "off", "none", "null", "disabled", "enabled"})


def secret_literal(name: str, value: Any) -> bool:
    """True when an env var looks like a secret passed as a literal value in the manifest."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return False
    text = str(value).strip()
    if not SECRET_NAME.search(name) or NOT_SECRET_SUFFIX.search(name) or text.lower() in NOT_SECRET_VALUE:
        return False
    if "$(" in text:
        return False  # composed from other env vars ($(VAR) expansion), which come from Secrets themselves
    return not (text.isdigit() or text.startswith(("/", "file:", "env:", "vault:", "secret:", "ref+")))


@rule("env-secret-literal", "hygiene", "error", kinds=WORKLOAD_KINDS)
def env_secret_literal(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """No container passes a secret-looking env var (password, token, key) as a literal value."""
    for c, path, _ in pod_containers(obj):
        cname = str(c.get("name", ""))
        for i, env in enumerate(c.get("env") or []):
            name = str((env or {}).get("name", ""))
            if "value" in (env or {}) and secret_literal(name, env.get("value")):
                yield Violation(f'container "{cname}" sets {name} to a literal value: the secret is readable in '
                                "the manifest, the release history and `kubectl get -o yaml`",
                                f"{path}.env[{i}].value", "literal", cname,
                                remediation=f"read {name} from a Secret (valueFrom.secretKeyRef; let values name "
                                "an existing Secret) instead of a literal")


@rule("probes-distinct", "hygiene", "warning", kinds=LONG_RUNNING)
def probes_distinct(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """A container's liveness and readiness probes differ (identical ones restart pods that are only busy)."""
    for c, path, fld in pod_containers(obj):
        live, ready = c.get("livenessProbe"), c.get("readinessProbe")
        if fld == "containers" and live and live == ready:
            cname = str(c.get("name", ""))
            yield Violation(f'container "{cname}" has identical liveness and readiness probes: when it is busy it '
                            "is restarted instead of taken out of the Service", f"{path}.livenessProbe", "identical",
                            cname, remediation="give the liveness probe a larger failureThreshold/periodSeconds, or "
                            "check liveness (process up) and readiness (can serve) on different endpoints")
