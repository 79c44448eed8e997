"""Pod Security Standards rules, mirroring k8s.io/pod-security-admission v0.35.4 policy/check_*.go.

Two rules split the standard the way a chart author fixes it:

* ``pss-baseline`` runs every baseline-level check for the policy version.
* ``pss-restricted`` runs only the checks the restricted level adds on top of baseline.

An object meets PSS restricted at a version iff both rules pass. Upstream, some restricted checks
replace (``OverrideCheckIDs``) a baseline check at the restricted level: ``restrictedVolumes`` replaces
``hostPathVolumes``, ``seccompProfile_restricted`` replaces ``seccompProfile_baseline``,
``capabilities_restricted`` replaces ``capabilities_baseline`` and (1.35+) ``procMount_restricted``
replaces ``procMount``. Each replacing check is at least as strict as the one it replaces on every
API-valid pod, so the overridden baseline checks are still reported under ``pss-baseline``, and the same
defect can show up once under each rule (e.g. a hostPath volume: ``hostPathVolumes`` and
``restrictedVolumes``).

``ctx.kube_version`` ("1.35", "v1.33", "1.34.2", "latest") is the policy version, evaluated with the
v0.35.4 check revisions exactly as ``registry.go`` does: versions above 1.35 (and "latest") are clamped
to 1.35, and each check uses its newest revision whose MinimumVersion is at or below the version. Like
upstream, fixes that were patched into a check's 1.0 revision (``image`` volumes allowed by
``restrictedVolumes``, the ``appArmorProfile`` field checked by ``appArmorProfile``) apply at every
version.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from conformance.rules.base import (
    WORKLOAD_KINDS,
    Context,
    Obj,
    Violation,
    containers,
    pod_metadata,
    pod_spec,
    rule,
)

Version = tuple[int, int]

#: The newest MinimumVersion registered in pod-security-admission v0.35.4 ("latest" resolves to it).
MAX_VERSION: Version = (1, 35)
#: What the pinned upstream sources are.
UPSTREAM = "k8s.io/pod-security-admission v0.35.4 (kubernetes v1.35.4)"

CTR_VALUES = "(chart values: the component's securityContext)"
POD_VALUES = "(chart values: the component's podSecurityContext)"
EITHER_VALUES = "(chart values: the component's podSecurityContext/securityContext)"

CAPABILITIES_BASELINE = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES_1_0 | {"container_engine_t"}
SYSCTLS_1_0 = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
})
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SYSCTLS_1_32 = SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
#: Volume sources the restricted level allows (check_restrictedVolumes.go).
RESTRICTED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
    "projected", "secret",
})
SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
LIFECYCLE_HANDLERS = ("postStart", "preStop")


def policy_version(kube_version: str) -> Version:
    """The policy version a Kubernetes version string selects, clamped to MAX_VERSION like registry.go."""
    m = re.match(r"^v?(\d+)\.(\d+)", kube_version.strip())
    if not m:
        return MAX_VERSION
    return min((int(m[1]), int(m[2])), MAX_VERSION)


def _d(value: Any) -> Obj:
    """The value if it is a mapping, else an empty one (a nil pointer upstream)."""
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[tuple[int, Obj]]:
    """The (index, mapping) entries of a list-valued field, skipping non-mappings."""
    return [(i, x) for i, x in enumerate(value if isinstance(value, list) else []) if isinstance(x, dict)]


def _strs(value: Any) -> list[str]:
    """The entries of a list-valued field as strings."""
    return [str(x) for x in value] if isinstance(value, list) else []


def _is_zero(value: Any) -> bool:
    """True for the integer 0 (not False, which Python also equates with 0)."""
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


@dataclass(frozen=True)
class Pod:
    """A pod template as the checks see it: spec, metadata, their paths and the policy version."""

    spec: Obj
    path: str
    meta: Obj
    meta_path: str
    version: Version

    @property
    def containers(self) -> list[tuple[Obj, str, str]]:
        """Every init, regular and ephemeral container as (container, path, name), in upstream order."""
        found = containers(self.spec, self.path)
        return [(c, p, str(c.get("name", ""))) for c, p, _ in found if isinstance(c, dict)]

    @property
    def security_context(self) -> Obj:
        """The pod-level securityContext."""
        return _d(self.spec.get("securityContext"))

    @property
    def windows(self) -> bool:
        """True when spec.os.name is windows (the 1.25+ restricted exemptions)."""
        return _d(self.spec.get("os")).get("name") == "windows"

    @property
    def user_namespace(self) -> bool:
        """True when spec.hostUsers is false (relaxPolicyForUserNamespacePod)."""
        return self.spec.get("hostUsers") is False

    def at_least(self, major: int, minor: int) -> bool:
        """True when the policy version is at or above major.minor."""
        return self.version >= (major, minor)


def pod_of(obj: Obj, ctx: Context) -> Pod | None:
    """The pod template of a workload object, or None when the object has none."""
    found = pod_spec(obj)
    if found is None:
        return None
    spec, path = found
    meta_path = path[: -len("spec")] + "metadata"
    return Pod(_d(spec), path, _d(pod_metadata(obj)), meta_path, policy_version(ctx.kube_version))


def _sc(container: Obj) -> Obj:
    """A container's securityContext."""
    return _d(container.get("securityContext"))


def _on(who: str) -> str:
    """The object of "on ...": "the pod" or 'container "x"'."""
    return "the pod" if who == "pod" else who


def _quote(items: list[str]) -> str:
    """Upstream's joinQuote: "a", "b"."""
    return ", ".join(f'"{x}"' for x in items)


# Baseline checks.


def check_privileged(pod: Pod) -> Iterator[Violation]:
    """privileged: no container sets securityContext.privileged=true."""
    for c, path, name in pod.containers:
        if _sc(c).get("privileged") is True:
            yield Violation(
                f'container "{name}" must not set securityContext.privileged=true',
                f"{path}.securityContext.privileged", "privileged", name,
                f'remove securityContext.privileged (or set it to false) on container "{name}" {CTR_VALUES}',
            )


def check_host_namespaces(pod: Pod) -> Iterator[Violation]:
    """hostNamespaces: the pod shares none of the host network, PID or IPC namespaces."""
    for fld in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.spec.get(fld) is True:
            yield Violation(
                f"pod must not set {fld}=true (host namespaces)", f"{pod.path}.{fld}", "hostNamespaces", "",
                f"remove {fld} (or set {fld}: false) from the pod spec (chart values: the component's {fld})",
            )


def check_host_ports(pod: Pod) -> Iterator[Violation]:
    """hostPorts: no container port sets a non-zero hostPort (after the API server's defaulting).

    Under ``hostNetwork: true`` the API server defaults every container and init container port's hostPort
    to its containerPort before admission sees the Pod (``SetDefaults_Pod``), so such a port is a host
    port even when the chart never writes one.
    """
    host_network = pod.spec.get("hostNetwork") is True
    for c, path, name in pod.containers:
        defaulted = host_network and ".ephemeralContainers[" not in path
        for i, port in _items(c.get("ports")):
            host_port = port.get("hostPort")
            if host_port in (None, 0) and defaulted and port.get("containerPort") not in (None, 0):
                yield Violation(
                    f'container "{name}" uses hostPort {port["containerPort"]}: under hostNetwork the API server '
                    "defaults hostPort to the containerPort", f"{path}.ports[{i}].containerPort", "hostPorts", name,
                    f'turn hostNetwork off for the pod of container "{name}" (chart values: the component\'s '
                    "hostNetwork); a host-network pod always uses host ports",
                )
            elif host_port not in (None, 0):
                yield Violation(
                    f'container "{name}" uses hostPort {host_port}', f"{path}.ports[{i}].hostPort",
                    "hostPorts", name,
                    f'remove hostPort (or set it to 0) on container "{name}"; expose the port with a Service',
                )


def check_host_path_volumes(pod: Pod) -> Iterator[Violation]:
    """hostPathVolumes: no volume is a hostPath volume."""
    for i, vol in _items(pod.spec.get("volumes")):
        if vol.get("hostPath") is not None:
            vname = str(vol.get("name", ""))
            yield Violation(
                f'volume "{vname}" must not be a hostPath volume', f"{pod.path}.volumes[{i}].hostPath",
                "hostPathVolumes", "",
                f'replace hostPath volume "{vname}" with emptyDir, configMap, secret or a PVC',
            )


def check_capabilities_baseline(pod: Pod) -> Iterator[Violation]:
    """capabilities_baseline: containers add only capabilities from the default set."""
    for c, path, name in pod.containers:
        add = _strs(_d(_sc(c).get("capabilities")).get("add"))
        bad = _quote(sorted({x for x in add if x not in CAPABILITIES_BASELINE}))
        if bad:
            yield Violation(
                f'container "{name}" must not include {bad} in securityContext.capabilities.add',
                f"{path}.securityContext.capabilities.add", "capabilities_baseline", name,
                f'remove {bad} from securityContext.capabilities.add on container "{name}" {CTR_VALUES}',
            )


def _apparmor_field(sc: Obj, path: str, who: str, name: str, values: str) -> Iterator[Violation]:
    """A forbidden securityContext.appArmorProfile.type on the pod or a container."""
    profile = sc.get("appArmorProfile")
    if isinstance(profile, dict) and profile.get("type") not in APPARMOR_TYPES:
        yield Violation(
            f'{who} must not set AppArmor profile type to "{profile.get("type", "")}"',
            f"{path}.securityContext.appArmorProfile.type", "appArmorProfile", name,
            f"set securityContext.appArmorProfile.type to RuntimeDefault or Localhost (or remove it) "
            f"on {_on(who)} {values}",
        )


def check_apparmor_profile(pod: Pod) -> Iterator[Violation]:
    """appArmorProfile: AppArmor fields and beta annotations select only runtime/default or localhost."""
    yield from _apparmor_field(pod.security_context, pod.path, "pod", "", POD_VALUES)
    for c, path, name in pod.containers:
        yield from _apparmor_field(_sc(c), path, f'container "{name}"', name, CTR_VALUES)
    for key, value in sorted(_d(pod.meta.get("annotations")).items()):
        val = "" if value is None else str(value)
        if str(key).startswith(APPARMOR_ANNOTATION_PREFIX) and not (
            val in ("", "runtime/default") or val.startswith("localhost/")
        ):
            yield Violation(
                f'annotation must not set AppArmor profile type to "{key}={val}"',
                f"{pod.meta_path}.annotations['{key}']", "appArmorProfile",
                str(key)[len(APPARMOR_ANNOTATION_PREFIX):],
                f"remove pod annotation {key} (or set it to runtime/default); prefer "
                "securityContext.appArmorProfile.type: RuntimeDefault "
                "(chart values: the component's podAnnotations)",
            )


def _selinux_problems(opts: Obj, allowed: frozenset[str]) -> list[str]:
    """What is wrong with one seLinuxOptions: a forbidden type, a user or a role."""
    problems = []
    if str(opts.get("type") or "") not in allowed:
        problems.append(f'type "{opts.get("type")}"')
    if opts.get("user"):
        problems.append("user may not be set")
    if opts.get("role"):
        problems.append("role may not be set")
    return problems


def check_selinux_options(pod: Pod) -> Iterator[Violation]:
    """seLinuxOptions: only container types (container_engine_t from 1.31), no user or role."""
    allowed = SELINUX_TYPES_1_31 if pod.at_least(1, 31) else SELINUX_TYPES_1_0
    setters = [(pod.security_context, pod.path, "pod", "", POD_VALUES)]
    setters += [(_sc(c), path, f'container "{name}"', name, CTR_VALUES) for c, path, name in pod.containers]
    for sc, path, who, name, values in setters:
        opts = sc.get("seLinuxOptions")
        problems = _selinux_problems(opts, allowed) if isinstance(opts, dict) else []
        if problems:
            yield Violation(
                f"{who} set forbidden securityContext.seLinuxOptions: {'; '.join(problems)}",
                f"{path}.securityContext.seLinuxOptions", "seLinuxOptions", name,
                f"remove seLinuxOptions user/role and use type {_quote(sorted(allowed - {''}))} (or leave it "
                f"unset) on {_on(who)} {values}",
            )


def _proc_mount(pod: Pod, check: str) -> Iterator[Violation]:
    """Containers whose securityContext.procMount is set to anything but Default."""
    for c, path, name in pod.containers:
        mount = _sc(c).get("procMount")
        if mount is not None and mount != "Default":
            yield Violation(
                f'container "{name}" must not set securityContext.procMount to "{mount}"',
                f"{path}.securityContext.procMount", check, name,
                f'remove securityContext.procMount (or set it to Default) on container "{name}" {CTR_VALUES}',
            )


def check_proc_mount(pod: Pod) -> Iterator[Violation]:
    """procMount: Default /proc masks, except (1.35+) in a user-namespaced pod (hostUsers: false)."""
    if pod.at_least(1, 35) and pod.user_namespace:
        return
    yield from _proc_mount(pod, "procMount")


def _seccomp_annotations(pod: Pod) -> Iterator[Violation]:
    """Seccomp alpha annotations with a forbidden value (policy versions before 1.19)."""
    annotations = _d(pod.meta.get("annotations"))
    keys = [(SECCOMP_POD_ANNOTATION, "")]
    keys += [(SECCOMP_CONTAINER_ANNOTATION_PREFIX + name, name) for _, _, name in pod.containers]
    for key, name in keys:
        val = annotations.get(key)
        if key in annotations and not (
            val in ("runtime/default", "docker/default") or str(val).startswith("localhost/")
        ):
            yield Violation(
                f'forbidden annotation {key}="{val}"', f"{pod.meta_path}.annotations['{key}']",
                "seccompProfile_baseline", name,
                f"remove annotation {key}; set securityContext.seccompProfile.type: RuntimeDefault "
                f"{EITHER_VALUES}",
            )


def _seccomp_explicit(pod: Pod, check: str) -> Iterator[Violation]:
    """The pod or containers setting seccompProfile.type to something but RuntimeDefault or Localhost."""
    setters = [(pod.security_context, pod.path, "pod", "", POD_VALUES)]
    setters += [(_sc(c), path, f'container "{name}"', name, CTR_VALUES) for c, path, name in pod.containers]
    for sc, path, who, name, values in setters:
        profile = sc.get("seccompProfile")
        if isinstance(profile, dict) and profile.get("type") not in SECCOMP_TYPES:
            yield Violation(
                f'{who} must not set securityContext.seccompProfile.type to "{profile.get("type", "")}"',
                f"{path}.securityContext.seccompProfile.type", check, name,
                f"set securityContext.seccompProfile.type: RuntimeDefault (or Localhost) on {_on(who)} {values}",
            )


def check_seccomp_baseline(pod: Pod) -> Iterator[Violation]:
    """seccompProfile_baseline: a set seccomp profile is RuntimeDefault or Localhost (annotations < 1.19)."""
    if not pod.at_least(1, 19):
        yield from _seccomp_annotations(pod)
        return
    yield from _seccomp_explicit(pod, "seccompProfile_baseline")


def _allowed_sysctls(pod: Pod) -> frozenset[str]:
    """The safe sysctls at the pod's policy version."""
    for version, allowed in (((1, 32), SYSCTLS_1_32), ((1, 29), SYSCTLS_1_29), ((1, 27), SYSCTLS_1_27)):
        if pod.version >= version:
            return allowed
    return SYSCTLS_1_0


def check_sysctls(pod: Pod) -> Iterator[Violation]:
    """sysctls: only the safe set, which grows at 1.27, 1.29 and 1.32."""
    allowed = _allowed_sysctls(pod)
    for i, sysctl in _items(pod.security_context.get("sysctls")):
        if sysctl.get("name") not in allowed:
            yield Violation(
                f'forbidden sysctl "{sysctl.get("name")}"', f"{pod.path}.securityContext.sysctls[{i}].name",
                "sysctls", "",
                f'remove sysctl "{sysctl.get("name")}" from securityContext.sysctls; only '
                f"{_quote(sorted(allowed))} are allowed {POD_VALUES}",
            )


def check_windows_host_process(pod: Pod) -> Iterator[Violation]:
    """windowsHostProcess: neither the pod nor a container sets windowsOptions.hostProcess=true."""
    setters = [(pod.security_context, pod.path, "pod", "", POD_VALUES)]
    setters += [(_sc(c), path, f'container "{name}"', name, CTR_VALUES) for c, path, name in pod.containers]
    for sc, path, who, name, values in setters:
        if _d(sc.get("windowsOptions")).get("hostProcess") is True:
            yield Violation(
                f"{who} must not set securityContext.windowsOptions.hostProcess=true",
                f"{path}.securityContext.windowsOptions.hostProcess", "windowsHostProcess", name,
                f"remove securityContext.windowsOptions.hostProcess (or set it to false) on {_on(who)} {values}",
            )


def _host_fields(c: Obj, path: str) -> Iterator[tuple[str, str]]:
    """(path, host) of every probe and lifecycle handler host a container sets."""
    handlers = [(_d(c.get(p)), f"{path}.{p}") for p in PROBES]
    lifecycle = _d(c.get("lifecycle"))
    handlers += [(_d(lifecycle.get(h)), f"{path}.lifecycle.{h}") for h in LIFECYCLE_HANDLERS]
    for handler, hpath in handlers:
        for kind in ("httpGet", "tcpSocket"):
            host = _d(handler.get(kind)).get("host")
            if host:
                yield f"{hpath}.{kind}.host", str(host)


def check_host_probes(pod: Pod) -> Iterator[Violation]:
    """hostProbesAndHostLifecycle (1.34+): probes and lifecycle handlers leave host unset."""
    if not pod.at_least(1, 34):
        return
    for c, path, name in pod.containers:
        for hpath, host in _host_fields(c, path):
            yield Violation(
                f'container "{name}" uses probe or lifecycle host "{host}"', hpath,
                "hostProbesAndHostLifecycle", name,
                f'remove the host field ("{host}") from the probe or lifecycle handler of container '
                f'"{name}"; it defaults to the pod IP',
            )


# Restricted checks.


def check_allow_privilege_escalation(pod: Pod) -> Iterator[Violation]:
    """allowPrivilegeEscalation: every container sets it to false (windows pods exempt from 1.25)."""
    if pod.at_least(1, 25) and pod.windows:
        return
    for c, path, name in pod.containers:
        if _sc(c).get("allowPrivilegeEscalation") is not False:
            yield Violation(
                f'container "{name}" must set securityContext.allowPrivilegeEscalation=false',
                f"{path}.securityContext.allowPrivilegeEscalation", "allowPrivilegeEscalation", name,
                f'set securityContext.allowPrivilegeEscalation: false on container "{name}" {CTR_VALUES}',
            )


def check_capabilities_restricted(pod: Pod) -> Iterator[Violation]:
    """capabilities_restricted: drop ALL, add at most NET_BIND_SERVICE (windows pods exempt from 1.25)."""
    if pod.at_least(1, 25) and pod.windows:
        return
    for c, path, name in pod.containers:
        caps = _d(_sc(c).get("capabilities"))
        if "ALL" not in _strs(caps.get("drop")):
            yield Violation(
                f'container "{name}" must set securityContext.capabilities.drop=["ALL"]',
                f"{path}.securityContext.capabilities.drop", "capabilities_restricted", name,
                f'set securityContext.capabilities.drop: ["ALL"] on container "{name}" {CTR_VALUES}',
            )
        bad = sorted({x for x in _strs(caps.get("add")) if x != "NET_BIND_SERVICE"})
        if bad:
            yield Violation(
                f'container "{name}" must not include {_quote(bad)} in securityContext.capabilities.add',
                f"{path}.securityContext.capabilities.add", "capabilities_restricted", name,
                f"remove {_quote(bad)} from securityContext.capabilities.add on container \"{name}\" (only "
                f"NET_BIND_SERVICE may be added) {CTR_VALUES}",
            )


def check_run_as_non_root(pod: Pod) -> Iterator[Violation]:
    """runAsNonRoot: true on the pod or on every container (skipped for hostUsers: false from 1.35)."""
    if pod.at_least(1, 35) and pod.user_namespace:
        return
    pod_value = pod.security_context.get("runAsNonRoot")
    fix = "set securityContext.runAsNonRoot: true on the pod or on {} " + EITHER_VALUES
    if pod_value is False:
        yield Violation(
            "pod must not set securityContext.runAsNonRoot=false", f"{pod.path}.securityContext.runAsNonRoot",
            "runAsNonRoot", "", "set securityContext.runAsNonRoot: true on the pod " + POD_VALUES,
        )
    for c, path, name in pod.containers:
        value = _sc(c).get("runAsNonRoot")
        if value is False:
            message = f'container "{name}" must not set securityContext.runAsNonRoot=false'
        elif value is None and pod_value is not True:
            message = f'container "{name}" must set securityContext.runAsNonRoot=true'
        else:
            continue
        yield Violation(message, f"{path}.securityContext.runAsNonRoot", "runAsNonRoot", name,
                        fix.format(f'container "{name}"'))


def check_run_as_user(pod: Pod) -> Iterator[Violation]:
    """runAsUser (1.23+): no runAsUser=0 on the pod or a container (skipped for hostUsers: false, 1.35+)."""
    if not pod.at_least(1, 23) or (pod.at_least(1, 35) and pod.user_namespace):
        return
    setters = [(pod.security_context, pod.path, "pod", "", POD_VALUES)]
    setters += [(_sc(c), path, f'container "{name}"', name, CTR_VALUES) for c, path, name in pod.containers]
    for sc, path, who, name, values in setters:
        if _is_zero(sc.get("runAsUser")):
            yield Violation(
                f"{who} must not set runAsUser=0", f"{path}.securityContext.runAsUser", "runAsUser", name,
                f"set securityContext.runAsUser to a non-zero UID (or remove it) on {_on(who)} {values}",
            )


def check_seccomp_restricted(pod: Pod) -> Iterator[Violation]:
    """seccompProfile_restricted (1.19+): RuntimeDefault or Localhost on the pod or every container."""
    if not pod.at_least(1, 19) or (pod.at_least(1, 25) and pod.windows):
        return
    yield from _seccomp_explicit(pod, "seccompProfile_restricted")
    pod_profile = pod.security_context.get("seccompProfile")
    if isinstance(pod_profile, dict) and pod_profile.get("type") in SECCOMP_TYPES:
        return
    for c, path, name in pod.containers:
        if not isinstance(_sc(c).get("seccompProfile"), dict):
            yield Violation(
                f'pod or container "{name}" must set securityContext.seccompProfile.type to '
                '"RuntimeDefault" or "Localhost"',
                f"{path}.securityContext.seccompProfile.type", "seccompProfile_restricted", name,
                "set securityContext.seccompProfile.type: RuntimeDefault on the pod or on "
                f'container "{name}" {EITHER_VALUES}',
            )


def check_restricted_volumes(pod: Pod) -> Iterator[Violation]:
    """restrictedVolumes: only core volume types (configMap, secret, emptyDir, PVC, projected, ...)."""
    for i, vol in _items(pod.spec.get("volumes")):
        sources = sorted(k for k, v in vol.items() if k != "name" and v is not None)
        # A volume without a source is defaulted to emptyDir by the API server before admission.
        if not sources or RESTRICTED_VOLUME_SOURCES.intersection(sources):
            continue
        vname = str(vol.get("name", ""))
        yield Violation(
            f'volume "{vname}" uses restricted volume type "{sources[0]}"',
            f"{pod.path}.volumes[{i}].{sources[0]}", "restrictedVolumes", "",
            f'replace volume "{vname}" with one of {_quote(sorted(RESTRICTED_VOLUME_SOURCES))} (e.g. a '
            "persistentVolumeClaim for storage)",
        )


def check_proc_mount_restricted(pod: Pod) -> Iterator[Violation]:
    """procMount_restricted (1.35+): Default /proc masks even in a user-namespaced pod."""
    yield from _proc_mount(pod, "procMount_restricted")


CheckFn = Callable[[Pod], Iterator[Violation]]

#: (upstream check ID, first policy version it exists at, check) for every baseline-level check.
BASELINE_CHECKS: tuple[tuple[str, Version, CheckFn], ...] = (
    ("privileged", (1, 0), check_privileged),
    ("hostNamespaces", (1, 0), check_host_namespaces),
    ("hostPorts", (1, 0), check_host_ports),
    ("hostPathVolumes", (1, 0), check_host_path_volumes),
    ("capabilities_baseline", (1, 0), check_capabilities_baseline),
    ("appArmorProfile", (1, 0), check_apparmor_profile),
    ("seLinuxOptions", (1, 0), check_selinux_options),
    ("procMount", (1, 0), check_proc_mount),
    ("seccompProfile_baseline", (1, 0), check_seccomp_baseline),
    ("sysctls", (1, 0), check_sysctls),
    ("windowsHostProcess", (1, 0), check_windows_host_process),
    ("hostProbesAndHostLifecycle", (1, 34), check_host_probes),
)

#: The checks the restricted level adds on top of baseline, with the baseline check each one overrides.
RESTRICTED_CHECKS: tuple[tuple[str, Version, CheckFn], ...] = (
    ("allowPrivilegeEscalation", (1, 8), check_allow_privilege_escalation),
    ("capabilities_restricted", (1, 22), check_capabilities_restricted),
    ("runAsNonRoot", (1, 0), check_run_as_non_root),
    ("runAsUser", (1, 23), check_run_as_user),
    ("seccompProfile_restricted", (1, 19), check_seccomp_restricted),
    ("restrictedVolumes", (1, 0), check_restricted_volumes),
    ("procMount_restricted", (1, 35), check_proc_mount_restricted),
)

#: Restricted check ID -> the baseline check ID it replaces at the restricted level upstream.
OVERRIDES = {
    "restrictedVolumes": "hostPathVolumes",
    "seccompProfile_restricted": "seccompProfile_baseline",
    "capabilities_restricted": "capabilities_baseline",
    "procMount_restricted": "procMount",
}


def check_ids(checks: tuple[tuple[str, Version, CheckFn], ...], kube_version: str) -> list[str]:
    """The IDs of the checks that exist at a Kubernetes version."""
    version = policy_version(kube_version)
    return [cid for cid, since, _ in checks if version >= since]


def _run(obj: Obj, ctx: Context, checks: tuple[tuple[str, Version, CheckFn], ...]) -> Iterator[Violation]:
    """Run the checks that exist at the context's version on the object's pod template."""
    pod = pod_of(obj, ctx)
    if pod is None:
        return
    for _, since, fn in checks:
        if pod.version >= since:
            yield from fn(pod)


@rule("pss-baseline", "pss", kinds=WORKLOAD_KINDS)
def pss_baseline(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Pod Security Standards baseline: every baseline-level pod-security-admission check passes."""
    yield from _run(obj, ctx, BASELINE_CHECKS)


@rule("pss-restricted", "pss", kinds=WORKLOAD_KINDS)
def pss_restricted(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Pod Security Standards restricted: the checks restricted adds to baseline (both rules = restricted)."""
    yield from _run(obj, ctx, RESTRICTED_CHECKS)
