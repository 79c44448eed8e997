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
                        remediation=resources_fix(obj, ctx, c, f"{section}.{resource}"),
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


def _template(obj: Obj, ctx: Context) -> str:
    """The chart template that rendered an object (from the render), or ''."""
    return str((ctx.extras.get("templates") or {}).get(f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}")
               or "")


def _keys(values: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every key of a values tree, depth first, as (key path, value, the mapping that holds it)."""
    if isinstance(values, dict):
        for k, v in values.items():
            sub = f"{path}.{k}" if path else str(k)
            yield sub, v, values
            yield from _keys(v, sub)
    elif isinstance(values, list):
        for i, v in enumerate(values):
            yield from _keys(v, f"{path}[{i}]")


def _leaves(values: Any) -> Iterator[tuple[str, str, Any]]:
    """Every string leaf of a values tree as (key path, value, the mapping that holds it)."""
    return ((p, v, h) for p, v, h in _keys(values) if isinstance(v, str))


def resources_fix(obj: Obj, ctx: Context, container: Obj, setting: str) -> str:
    """Where to set a container's missing request or limit: the values key its resources come from (the one
    equal to them), else the template, naming the chart's resources key when it has an empty one the template
    may read."""
    name, rendered = str(container.get("name", "")), container.get("resources") or {}
    template = _template(obj, ctx) or "the template"
    keys = [(p, v) for p, v, _ in _keys(ctx.extras.get("values") or {})
            if p.rsplit(".", 1)[-1].lower().endswith("resources") and isinstance(v, dict | None)]
    same = [p for p, v in keys if rendered and v == rendered]
    if same:
        return f"set {same[0]}.{setting} in the chart's values (container {name!r} gets its resources from it)"
    section, resource = setting.split(".")
    dropped = [(p, v[section][resource]) for p, v in keys if rendered and isinstance(v, dict)
               and isinstance(v.get(section), dict) and v[section].get(resource)
               and all(v.get(k) == rendered[k] for k in rendered)]
    if dropped:
        key, value = dropped[0]
        return f"{template} drops {key}.{setting} ({value!r}) for container {name!r}: give it all of {key} " \
            f"(toYaml .Values.{key})"
    empty = [p for p, v in keys if not v]
    if not rendered and len(empty) == 1:
        return f"set {empty[0]}.{setting} in the chart's values (if {template} reads it for container {name!r}; " \
            "else set it in the template)"
    return f"add resources.{setting} to container {name!r} in {template} (or give it resources from values)"


#: Keys whose name says they hold an image or its repository (`image`, `sidecarImage`, `repository`).
IMAGE_KEYS = ("image", "repository", "repo")


def image_in_values(image: str, values: Any) -> tuple[str, Any] | None:
    """The values key that sets an image, or None: the `tag` (or `digest`) key beside the repository key, with its
    value, or the key holding the whole reference (value None)."""
    repo = image.rsplit(":", 1)[0] if image_tag(image) else image
    for path, value, holder in _leaves(values):
        if not value or not (value in (image, repo) or repo.endswith("/" + value)):
            continue
        parent, _, key = path.rpartition(".")
        for pin in ("tag", "digest"):
            if pin in holder and isinstance(holder[pin], str | None):
                return (f"{parent}.{pin}" if parent else pin), holder[pin]
        if value == image or key.lower().endswith(IMAGE_KEYS) or (key == "name" and "image" in parent.lower()):
            return path, None
    return None


def image_fix(obj: Obj, ctx: Context, image: str) -> str:
    """How to pin an image: the values key that sets it, else the template that writes it (or, when the values
    pin a tag the image does not carry, the template that ignores it)."""
    repo, tag = (image.rsplit(":", 1)[0], image_tag(image)) if image_tag(image) else (image, "")
    template = _template(obj, ctx)
    found = image_in_values(image, ctx.extras.get("values") or {})
    if found is not None:
        key, now = found
        if key.endswith(".tag") or key == "tag":
            if now and now not in (tag, "latest"):
                return (f"{template or 'the template'} ignores {key} ({now!r}): tag the image with "
                        f"{{{{ .Values.{key} }}}} there")
            return f"set {key} in the chart's values to a released version" + (f" (now {now!r})" if now else "")
        if key.endswith(".digest") or key == "digest":
            return f"set {key} in the chart's values to the image's digest (sha256:<digest>)"
        return f"set {key} in the chart's values to a released tag ({repo}:<version>) or a digest"
    where = f"it is written in {template}: pin it there" if template else "pin it where the chart sets it"
    return f"{where} ({repo}:<version> or {repo}@sha256:<digest>), or read it from values"


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
                "latest" if tag else "untagged", name, remediation=image_fix(obj, ctx, image),
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


def _account(ctx: Context, ns: str, name: str) -> Obj | None:
    """The rendered ServiceAccount of that namespace and name, if the chart renders it."""
    for o in ctx.objects:
        meta = o.get("metadata") or {}
        if o.get("kind") == "ServiceAccount" and meta.get("name") == name and (meta.get("namespace") or "") == ns:
            return o
    return None


def _automount_key(values: Any, path: str = "") -> str:
    """The values key that turns a token mount on (`serviceAccount.automount: true`), or ''."""
    for key, value in (values.items() if isinstance(values, dict) else ()):
        sub = f"{path}.{key}" if path else str(key)
        if value is True and "automount" in str(key).lower():
            return sub
        found = _automount_key(value, sub)
        if found:
            return found
    return ""


def token_fix(obj: Obj, ctx: Context, name: str, pod_sets: bool, account: Obj | None) -> str:
    """Where to turn the token off: the pod when it asks for the token itself or its account is not the chart's,
    else the values key or the ServiceAccount the chart renders (the pod's setting wins over the account's)."""
    pod = f"on the pod in {_template(obj, ctx)}" if _template(obj, ctx) else "on the pod"
    key = _automount_key(ctx.extras.get("values") or {})
    if pod_sets:
        return f"the pod sets automountServiceAccountToken: true; set it to false {pod}" + \
            (f" (or {key}: false in the chart's values, if it sets this)" if key else "")
    if account is None:
        return f"set automountServiceAccountToken: false {pod} (it runs as ServiceAccount {name!r}, which the chart " \
            "does not render)"
    if key and account.get("automountServiceAccountToken") is True:
        return f"set {key}: false in the chart's values (ServiceAccount {name!r} mounts its token), or " \
            f"automountServiceAccountToken: false {pod}"
    where = f" in {_template(account, ctx)}" if _template(account, ctx) else ""
    return f"set automountServiceAccountToken: false on ServiceAccount {name!r}{where}, or {pod}"


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
    rendered = _account(ctx, ns, account)
    pod_sets = spec.get("automountServiceAccountToken") is not None
    if not pod_sets and rendered is not None and rendered.get("automountServiceAccountToken") is False:
        return
    yield Violation(
        f"pod mounts a ServiceAccount token ({account!r}) but no rendered role binds that account",
        f"{base}.automountServiceAccountToken", "automount",
        remediation=token_fix(obj, ctx, account, pod_sets, rendered),
    )


#: kubesec's rules (v2.14) in plain words: what to change in the pod spec to stop losing or to gain their points.
KUBESEC_FIX = {
    "Privileged": "remove securityContext.privileged: true",
    "CapSysAdmin": "remove SYS_ADMIN from securityContext.capabilities.add",
    "HostNetwork": "remove hostNetwork: true",
    "HostPID": "remove hostPID: true",
    "HostIPC": "remove hostIPC: true",
    "DockerSock": "remove the hostPath volume of /var/run/docker.sock",
    "ProcMount": "remove the hostPath volume of /proc",
    "AllowPrivilegeEscalation": "set securityContext.allowPrivilegeEscalation: false",
    "HostAliases": "remove hostAliases (let cluster DNS resolve names)",
    "SeccompUnconfined": "use a seccomp profile other than unconfined",
    "ApparmorAny": "add an AppArmor annotation",
    "SeccompAny": "add a seccomp annotation",
    "ServiceAccountName": "run under a dedicated ServiceAccount",
    "AutomountServiceAccountToken": "set automountServiceAccountToken: false",
    "RunAsNonRoot": "set securityContext.runAsNonRoot: true",
    "RunAsUser": "set securityContext.runAsUser above 10000",
    "RunAsGroup": "set securityContext.runAsGroup above 10000",
    "ReadOnlyRootFilesystem": "set securityContext.readOnlyRootFilesystem: true",
    "CapDropAny": "drop capabilities (securityContext.capabilities.drop)",
    "CapDropAll": 'set securityContext.capabilities.drop: ["ALL"]',
    "LimitsCPU": "set resources.limits.cpu",
    "LimitsMemory": "set resources.limits.memory",
    "RequestsCPU": "set resources.requests.cpu",
    "RequestsMemory": "set resources.requests.memory",
    "VolumeClaimAccessModeReadWriteOnce": "use accessModes: [ReadWriteOnce] in volumeClaimTemplates",
    "VolumeClaimRequestsStorage": "set resources.requests.storage in volumeClaimTemplates",
}
#: How many of kubesec's advice items a finding's fix names; the rest are in findings.json.
KUBESEC_SHOWN = 3


def kubesec_selector(selector: str) -> str:
    """kubesec's jq-like selector without its spaces between fields, and with a placeholder for the container
    name its AppArmor rule's selector spells as `nginx` (the rule accepts the annotation of any container)."""
    compact = re.sub(r"\s+\.", ".", selector).replace("apparmor.security.beta.kubernetes.io/nginx",
                                                      "apparmor.security.beta.kubernetes.io/<container>")
    return compact.strip()


def kubesec_item(advice: Any) -> str:
    """One item of kubesec's advice in plain words, with the points it is worth and kubesec's selector."""
    if not isinstance(advice, dict):  # a plan cached before advice was kept whole: kubesec's own line
        return str(advice)
    points, selector = int(advice.get("points") or 0), kubesec_selector(str(advice.get("selector") or ""))
    what = KUBESEC_FIX.get(str(advice.get("id")), str(advice.get("reason") or ""))
    worth = f"critical {points}: " if advice.get("critical") and points else f"{points:+d} " if points else ""
    return f"{worth}{what}" + (f" ({selector})" if selector else "")


def kubesec_fix(score: int, advice: list[Any]) -> str:
    """The few most valuable of kubesec's advice items (critical ones first), and how many more there are."""
    if not advice:
        return "see kubesec's report: `kubesec scan` the rendered object"
    gain = f"reach 8 points (now {score}): " if all(isinstance(a, dict) and a.get("id") != "invalid"
                                                    for a in advice) else ""
    more = len(advice) - KUBESEC_SHOWN
    rest = f"; +{more} more (see findings.json)" if more > 0 else ""
    return gain + "; ".join(kubesec_item(a) for a in advice[:KUBESEC_SHOWN]) + rest


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
        yield Violation(f"kubesec score {score} is not above 7", "", "score", remediation=kubesec_fix(score, advice),
                        extra={"kubesec_advice": list(advice)})


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
