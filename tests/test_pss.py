"""Tests for the Pod Security Standards rules (conformance/rules/pss.py) and their fixtures."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.rules import pss
from conformance.rules.base import WORKLOAD_KINDS, Context, Violation, get_rule

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rules"
EXPECT = "conformance.floe.dev/expect-checks"
#: Optional: the policy version a fixture is evaluated at (default: the pinned 1.35).
KUBE_VERSION = "conformance.floe.dev/kube-version"
RULES = ("pss-baseline", "pss-restricted")


def fixture_files(rule_id: str, outcome: str) -> list[Path]:
    return sorted((FIXTURES / rule_id / outcome).glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert len(docs) == 1, f"{path.name}: one Kubernetes object per file"
    assert isinstance(docs[0], dict)
    return dict(docs[0])


def annots(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def ctx_for(obj: dict[str, Any]) -> Context:
    return Context(kube_version=annots(obj).get(KUBE_VERSION, "1.35"))


def run(rule_id: str, obj: dict[str, Any], version: str = "1.35") -> list[Violation]:
    return get_rule(rule_id).check(obj, Context(kube_version=version))


def checks(rule_id: str, obj: dict[str, Any], version: str = "1.35") -> set[str]:
    return {v.check for v in run(rule_id, obj, version)}


def params(outcome: str) -> list[Any]:
    return [
        pytest.param(rule_id, path, id=f"{rule_id}/{outcome}/{path.stem}")
        for rule_id in RULES
        for path in fixture_files(rule_id, outcome)
    ]


_SEGMENT = re.compile(r"\['([^']*)'\]|\[(\d+)\]|([^.\[\]]+)")


def assert_path_resolves(obj: dict[str, Any], path: str) -> None:
    """Every list index on the path exists, and every mapping key up to the first missing one does."""
    node: Any = obj
    for m in _SEGMENT.finditer(path):
        key, index, name = m.groups()
        if index is not None:
            assert isinstance(node, list) and int(index) < len(node), f"{path}: no [{index}]"
            node = node[int(index)]
            continue
        field = key if key is not None else name
        if not isinstance(node, dict) or field not in node:
            return  # a field the check wants set but which is missing (e.g. runAsNonRoot)
        node = node[field]


# Fixtures.


@pytest.mark.parametrize(("rule_id", "path"), params("pass"))
def test_pass_fixture_has_no_violations(rule_id: str, path: Path) -> None:
    obj = load(path)
    assert EXPECT not in annots(obj)
    assert get_rule(rule_id).check(obj, ctx_for(obj)) == []


@pytest.mark.parametrize("path", fixture_files("pss-restricted", "pass"), ids=lambda p: p.stem)
def test_restricted_pass_fixture_is_baseline_compliant(path: Path) -> None:
    obj = load(path)
    assert get_rule("pss-baseline").check(obj, ctx_for(obj)) == []


@pytest.mark.parametrize(("rule_id", "path"), params("fail"))
def test_fail_fixture_reports_exactly_the_expected_checks(rule_id: str, path: Path) -> None:
    obj = load(path)
    expected = {c.strip() for c in annots(obj)[EXPECT].split(",") if c.strip()}
    violations = get_rule(rule_id).check(obj, ctx_for(obj))
    assert {v.check for v in violations} == expected
    names = {c.get("name") for c, _, _ in pss.pod_of(obj, ctx_for(obj)).containers}  # type: ignore[union-attr]
    for v in violations:
        assert v.message and v.remediation and v.path
        assert v.container == "" or v.container in names
        assert_path_resolves(obj, v.path)


@pytest.mark.parametrize(("rule_id", "path"), params("pass") + params("fail"))
def test_fixture_is_a_plain_workload(rule_id: str, path: Path) -> None:
    obj = load(path)
    assert obj.get("kind") in WORKLOAD_KINDS and obj.get("apiVersion")
    assert "namespace" not in obj["metadata"]
    pod = pss.pod_of(obj, ctx_for(obj))
    assert pod is not None and pod.containers
    assert all(str(c.get("image", "")).startswith("registry.example/") for c, _, _ in pod.containers)


@pytest.mark.parametrize(("rule_id", "checks_"), [
    ("pss-baseline", pss.BASELINE_CHECKS), ("pss-restricted", pss.RESTRICTED_CHECKS),
])
def test_every_check_has_a_fail_fixture(rule_id: str, checks_: tuple[Any, ...]) -> None:
    covered = set()
    kinds = set()
    for path in fixture_files(rule_id, "fail"):
        obj = load(path)
        covered |= {c.strip() for c in annots(obj)[EXPECT].split(",")}
        kinds.add(obj["kind"])
    assert {cid for cid, _, _ in checks_} <= covered
    assert len(kinds) >= 5


# The rules.


def pod(spec: dict[str, Any], annotations_: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p"}
    if annotations_:
        meta["annotations"] = annotations_
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


RESTRICTED_SPEC: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{
        "name": "app", "image": "registry.example/app:1.0",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }],
}


def restricted_spec(**pod_fields: Any) -> dict[str, Any]:
    spec = copy.deepcopy(RESTRICTED_SPEC)
    spec.update(pod_fields)
    return spec


def test_rules_are_registered_for_workloads() -> None:
    for rule_id in RULES:
        r = get_rule(rule_id)
        assert r.family == "pss" and r.kinds == WORKLOAD_KINDS and r.severity == "error"
        assert r.check({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}) == []


@pytest.mark.parametrize(("given", "expected"), [
    ("1.35", (1, 35)), ("v1.33", (1, 33)), ("1.34.2", (1, 34)), ("1.40", (1, 35)), ("latest", (1, 35)),
    ("", (1, 35)), ("1.25", (1, 25)),
])
def test_policy_version(given: str, expected: tuple[int, int]) -> None:
    assert pss.policy_version(given) == expected


def test_check_ids_at_versions() -> None:
    assert pss.check_ids(pss.BASELINE_CHECKS, "1.33")[-1] == "windowsHostProcess"
    assert "hostProbesAndHostLifecycle" in pss.check_ids(pss.BASELINE_CHECKS, "1.34")
    assert "procMount_restricted" not in pss.check_ids(pss.RESTRICTED_CHECKS, "1.34")
    assert "procMount_restricted" in pss.check_ids(pss.RESTRICTED_CHECKS, "1.35")
    assert set(pss.OVERRIDES) <= set(pss.check_ids(pss.RESTRICTED_CHECKS, "1.35"))


def test_restricted_pod_is_clean() -> None:
    obj = pod(restricted_spec())
    assert run("pss-baseline", obj) == [] and run("pss-restricted", obj) == []


def test_run_as_non_root_violation_shape() -> None:
    obj = pod(restricted_spec(securityContext={"seccompProfile": {"type": "RuntimeDefault"}}))
    (v,) = run("pss-restricted", obj)
    assert v == Violation(
        message='container "app" must set securityContext.runAsNonRoot=true',
        path="spec.containers[0].securityContext.runAsNonRoot",
        check="runAsNonRoot",
        container="app",
        remediation='set securityContext.runAsNonRoot: true on the pod or on container "app" '
                    "(chart values: the component's podSecurityContext/securityContext)",
    )


def test_deployment_paths_point_into_the_template() -> None:
    obj = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "securityContext": {"privileged": True}}]}}},
    }
    (v,) = run("pss-baseline", obj)
    assert v.path == "spec.template.spec.containers[0].securityContext.privileged" and v.container == "a"


@pytest.mark.parametrize(("sysctl", "first"), [
    ("net.ipv4.ip_local_reserved_ports", "1.27"),
    ("net.ipv4.tcp_keepalive_time", "1.29"),
    ("net.ipv4.tcp_fin_timeout", "1.29"),
    ("net.ipv4.tcp_rmem", "1.32"),
    ("net.ipv4.tcp_wmem", "1.32"),
])
def test_sysctls_allowed_list_grows(sysctl: str, first: str) -> None:
    minor = int(first.split(".")[1])
    obj = pod(restricted_spec(securityContext={**RESTRICTED_SPEC["securityContext"],
                                               "sysctls": [{"name": sysctl, "value": "1"}]}))
    assert checks("pss-baseline", obj, f"1.{minor - 1}") == {"sysctls"}
    assert checks("pss-baseline", obj, first) == set()
    assert checks("pss-baseline", obj, "1.35") == set()


def test_selinux_container_engine_t_from_1_31() -> None:
    obj = pod(restricted_spec(securityContext={**RESTRICTED_SPEC["securityContext"],
                                               "seLinuxOptions": {"type": "container_engine_t"}}))
    assert checks("pss-baseline", obj, "1.30") == {"seLinuxOptions"}
    assert checks("pss-baseline", obj, "1.31") == set()


def test_probe_host_from_1_34() -> None:
    spec = restricted_spec()
    spec["containers"][0]["readinessProbe"] = {"httpGet": {"host": "10.0.0.1", "port": 80}}
    assert checks("pss-baseline", pod(spec), "1.33") == set()
    assert checks("pss-baseline", pod(spec), "1.34") == {"hostProbesAndHostLifecycle"}


def test_user_namespace_relaxes_run_as_from_1_35() -> None:
    spec = restricted_spec(hostUsers=False, securityContext={"runAsUser": 0,
                                                             "seccompProfile": {"type": "RuntimeDefault"}})
    assert checks("pss-restricted", pod(spec), "1.34") == {"runAsNonRoot", "runAsUser"}
    assert checks("pss-restricted", pod(spec), "1.35") == set()
    spec["hostUsers"] = True
    assert checks("pss-restricted", pod(spec), "1.35") == {"runAsNonRoot", "runAsUser"}


def test_proc_mount_baseline_relaxed_restricted_not() -> None:
    spec = restricted_spec(hostUsers=False)
    spec["containers"][0]["securityContext"]["procMount"] = "Unmasked"
    assert checks("pss-baseline", pod(spec), "1.34") == {"procMount"}
    assert checks("pss-restricted", pod(spec), "1.34") == set()  # procMount_restricted is 1.35+
    assert checks("pss-baseline", pod(spec), "1.35") == set()
    assert checks("pss-restricted", pod(spec), "1.35") == {"procMount_restricted"}
    spec.pop("hostUsers")
    assert checks("pss-baseline", pod(spec), "1.35") == {"procMount"}
    assert checks("pss-restricted", pod(spec), "1.35") == {"procMount_restricted"}


def test_windows_exemptions_from_1_25() -> None:
    spec = {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True},
            "containers": [{"name": "app", "image": "registry.example/app:1.0"}]}
    assert checks("pss-restricted", pod(spec), "1.24") == {
        "allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted"}
    assert checks("pss-restricted", pod(spec), "1.25") == set()


def test_restricted_checks_introduced_by_version() -> None:
    obj = pod({"securityContext": {"runAsUser": 0},
               "containers": [{"name": "app", "image": "registry.example/app:1.0"}]})
    assert checks("pss-restricted", obj, "1.7") == {"runAsNonRoot"}
    assert checks("pss-restricted", obj, "1.19") == {"runAsNonRoot", "allowPrivilegeEscalation",
                                                     "seccompProfile_restricted"}
    assert checks("pss-restricted", obj, "1.22") == {"runAsNonRoot", "allowPrivilegeEscalation",
                                                     "seccompProfile_restricted", "capabilities_restricted"}
    assert "runAsUser" in checks("pss-restricted", obj, "1.23")


def test_seccomp_annotations_only_before_1_19() -> None:
    obj = pod(restricted_spec(), {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                                  "container.seccomp.security.alpha.kubernetes.io/app": "localhost/app.json"})
    (v,) = run("pss-baseline", obj, "1.18")
    assert v.check == "seccompProfile_baseline" and v.container == ""
    assert v.path == "metadata.annotations['seccomp.security.alpha.kubernetes.io/pod']"
    assert run("pss-baseline", obj, "1.19") == []


def test_apparmor_annotation_values() -> None:
    key = "container.apparmor.security.beta.kubernetes.io/app"
    for value in ("runtime/default", "localhost/k8s-app", ""):
        assert run("pss-baseline", pod(restricted_spec(), {key: value})) == []
    (v,) = run("pss-baseline", pod(restricted_spec(), {key: "unconfined"}))
    assert v.check == "appArmorProfile" and v.container == "app"


def test_apparmor_field_and_image_volumes_are_not_version_gated() -> None:
    spec = restricted_spec(volumes=[{"name": "assets", "image": {"reference": "registry.example/a:1"}}])
    assert checks("pss-restricted", pod(spec), "1.25") == set()
    spec["securityContext"]["appArmorProfile"] = {"type": "Unconfined"}
    assert checks("pss-baseline", pod(spec), "1.25") == {"appArmorProfile"}


def test_run_as_user_false_is_not_zero() -> None:
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["runAsUser"] = False
    assert checks("pss-restricted", pod(spec)) == set()


def test_capabilities_drop_all_is_case_sensitive() -> None:
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["capabilities"] = {"drop": ["all"]}
    assert checks("pss-restricted", pod(spec)) == {"capabilities_restricted"}


def test_host_port_zero_and_missing_are_allowed() -> None:
    spec = restricted_spec()
    spec["containers"][0]["ports"] = [{"containerPort": 80}, {"containerPort": 81, "hostPort": 0}]
    assert run("pss-baseline", pod(spec)) == []
    spec["containers"][0]["ports"].append({"containerPort": 82, "hostPort": 8082})
    (v,) = run("pss-baseline", pod(spec))
    assert v.check == "hostPorts" and v.path == "spec.containers[0].ports[2].hostPort"


def test_seccomp_localhost_at_container_level_without_pod_level() -> None:
    spec = restricted_spec(securityContext={"runAsNonRoot": True})
    spec["containers"][0]["securityContext"]["seccompProfile"] = {"type": "Localhost", "localhostProfile": "p"}
    assert checks("pss-restricted", pod(spec)) == set()
    spec["containers"].append(copy.deepcopy(RESTRICTED_SPEC["containers"][0]) | {"name": "side"})
    (v,) = run("pss-restricted", pod(spec))
    assert v.check == "seccompProfile_restricted" and v.container == "side"
