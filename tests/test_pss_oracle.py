"""Real PodSecurity admission (kube-apiserver v1.35.4 in a kwok cluster) as the oracle for the static PSS rules.

Every fixture under fixtures/rules/pss-{baseline,restricted}/{pass,fail}/ is sent to the API server as a
server-side dry-run create in a namespace that enforces (and warns at) one level:

* A workload is judged as the Pod its controller would create from the template (name, template metadata,
  spec): enforce judges Pods, and the API server defaults a Pod (hostPort under hostNetwork) but since 1.28
  no longer defaults pod templates, so a template's warnings can miss what the Pod is denied for.
  Denials (`violates PodSecurity "L:vX.Y": ...`) are parsed into upstream check IDs.
* Pods with ephemeralContainers cannot be created with them, so the Pod is created without them in a
  warn-only namespace and the ephemeral containers are added by a dry-run pods/ephemeralcontainers update,
  whose warning covers the whole pod.

Asserted per fixture and level: admission objects iff our rules find something (baseline: pss-baseline;
restricted: pss-baseline or pss-restricted), with the same set of check IDs; and a fixture's own
`conformance.floe.dev/expect-checks` agrees with admission at its folder's level.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import conformance.rules.pss  # noqa: F401 - registers pss-baseline and pss-restricted
from conformance import REPO_ROOT
from conformance.cluster import CLUSTER_TIMEOUTS, KwokCluster, wait_for
from conformance.rules.base import Context, get_rule, pod_metadata, pod_spec

pytestmark = pytest.mark.xdist_group("kwok-pss-oracle")

FIXTURES = REPO_ROOT / "fixtures" / "rules"
FOLDERS = ("pss-baseline", "pss-restricted")
FILES = sorted(p for folder in FOLDERS for kind in ("pass", "fail") for p in (FIXTURES / folder / kind).glob("*.yaml"))
LEVELS = ("baseline", "restricted")
DEFAULT_VERSION = "1.35"
EXPECT = "conformance.floe.dev/expect-checks"
VERSION_ANNOTATION = "conformance.floe.dev/kube-version"

#: Upstream ForbiddenReason (k8s.io/pod-security-admission v0.35.4 policy/check_*.go) -> check ID.
BASELINE_REASONS = {
    "host namespaces": "hostNamespaces",
    "privileged": "privileged",
    "non-default capabilities": "capabilities_baseline",
    "hostPath volumes": "hostPathVolumes",
    "hostPort": "hostPorts",
    "forbidden AppArmor profile": "appArmorProfile",
    "forbidden AppArmor profiles": "appArmorProfile",
    "seLinuxOptions": "seLinuxOptions",
    "procMount": "procMount",
    "seccompProfile": "seccompProfile_baseline",
    "forbidden sysctls": "sysctls",
    "hostProcess": "windowsHostProcess",
    "probe or lifecycle host": "hostProbesAndHostLifecycle",
}
RESTRICTED_REASONS = {
    **BASELINE_REASONS,
    "restricted volume types": "restrictedVolumes",
    "allowPrivilegeEscalation != false": "allowPrivilegeEscalation",
    "unrestricted capabilities": "capabilities_restricted",
    "runAsNonRoot != true": "runAsNonRoot",
    "runAsUser=0": "runAsUser",
    "seccompProfile": "seccompProfile_restricted",
}
#: At restricted, upstream evaluates these restricted checks *instead of* the baseline ones (OverrideCheckIDs),
#: from the policy version given: baseline check ID -> (restricted check ID, since).
OVERRIDDEN_AT_RESTRICTED = {
    "hostPathVolumes": ("restrictedVolumes", (1, 0)),
    "seccompProfile_baseline": ("seccompProfile_restricted", (1, 19)),
    "capabilities_baseline": ("capabilities_restricted", (1, 22)),
    "procMount": ("procMount_restricted", (1, 35)),
}
RESTRICTED_ONLY = frozenset(RESTRICTED_REASONS.values()) - frozenset(BASELINE_REASONS.values()) | {
    "procMount_restricted"
}
PSA_MESSAGE = re.compile(r'(?:would )?violates? PodSecurity "(?P<level>[a-z]+):(?P<version>[^"]+)": (?P<reasons>.*)$')


def version_tuple(version: str) -> tuple[int, int]:
    """'1.35' -> (1, 35)."""
    major, minor = version.removeprefix("v").split(".")[:2]
    return int(major), int(minor)


def split_top_level(text: str) -> list[str]:
    """Split PSA's reason list on ', ' outside parentheses, brackets and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(", ", i):
            parts.append(text[start:i])
            start = i + 2
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def reasons_to_checks(reasons: str, level: str, version: str) -> frozenset[str]:
    """Map an admission message's reasons to upstream check IDs (an unknown reason fails the test)."""
    table = RESTRICTED_REASONS if level == "restricted" else BASELINE_REASONS
    ids = set()
    for item in split_top_level(reasons):
        reason = item.split(" (", 1)[0].strip()
        assert reason in table, f"unknown PodSecurity reason {reason!r} in {item!r}: add it to the reason table"
        check = table[reason]
        if level == "restricted" and check == "procMount" and version_tuple(version) >= (1, 35):
            check = "procMount_restricted"
        ids.add(check)
    return frozenset(ids)


def normalize(ids: set[str], level: str, version: str) -> frozenset[str]:
    """Our check IDs as upstream reports them at a level (overridden baseline checks renamed at restricted)."""
    if level != "restricted":
        return frozenset(ids)
    out = set()
    for check in ids:
        replacement, since = OVERRIDDEN_AT_RESTRICTED.get(check, (check, (0, 0)))
        out.add(replacement if version_tuple(version) >= since else check)
    return frozenset(out)


@dataclass(frozen=True)
class Verdict:
    """What PodSecurity admission said about one object at one level."""

    how: str  # "denied", "warned" or "allowed"
    checks: frozenset[str]
    message: str

    @property
    def objects(self) -> bool:
        """True when admission denied or warned."""
        return self.how != "allowed"


class Oracle:
    """Namespaces per (level, version, mode) in one kwok cluster, and admission verdicts for objects."""

    def __init__(self, cluster: KwokCluster) -> None:
        """Use this cluster."""
        self.cluster = cluster
        self.namespaces: set[str] = set()
        self.cache: dict[tuple[Path, str, str], Verdict] = {}

    def namespace(self, level: str, version: str, warn_only: bool = False) -> str:
        """A namespace enforcing (or, warn_only, only warning at) `level` at policy `version`."""
        name = f"pss-{level}-v{version.replace('.', '-')}" + ("-warn" if warn_only else "")
        if name in self.namespaces:
            return name
        labels = {"warn": level, "audit": level, "enforce": "privileged" if warn_only else level}
        args = [f"pod-security.kubernetes.io/{mode}={lvl}" for mode, lvl in labels.items()]
        args += [f"pod-security.kubernetes.io/{mode}-version=v{version}" for mode in labels]
        self.cluster.kubectl("create", "namespace", name)
        self.cluster.kubectl("label", "namespace", name, *args)
        wait_for(lambda: self.cluster.run_kubectl("get", "serviceaccount", "default", "-n", name).returncode == 0,
                 CLUSTER_TIMEOUTS.ready, CLUSTER_TIMEOUTS.poll_interval, f"default service account in {name}")
        self.namespaces.add(name)
        return name

    def verdict(self, path: Path, level: str, at: str | None = None) -> Verdict:
        """Admission's verdict on a fixture at a level and policy version (default: the fixture's; cached)."""
        obj = load(path)
        version = at or fixture_version(obj)
        key = (path, level, version)
        if key not in self.cache:
            if obj.get("kind") == "Pod" and (obj.get("spec") or {}).get("ephemeralContainers"):
                self.cache[key] = self._ephemeral(obj, level, version)
            else:
                self.cache[key] = self._dry_run(obj, level, version)
        return self.cache[key]

    def _dry_run(self, obj: dict[str, Any], level: str, version: str) -> Verdict:
        """Server-side dry-run create of the object's Pod in an enforcing namespace: denial or warnings."""
        ns = self.namespace(level, version)
        proc = self.cluster.run_kubectl("create", "--dry-run=server", "-n", ns, "-o", "name", "-f", "-",
                                        input_text=json.dumps(as_pod(obj)))
        if proc.returncode != 0:
            found = psa_messages(proc.stderr, level)
            assert found, f"the API server rejected the fixture for another reason than PodSecurity: {proc.stderr}"
            return Verdict("denied", reasons_to_checks(found[0], level, version), proc.stderr.strip())
        return warned(proc.stderr, level, version)

    def _ephemeral(self, obj: dict[str, Any], level: str, version: str) -> Verdict:
        """Create the Pod without ephemeral containers (warn-only namespace), then dry-run adding them."""
        ns = self.namespace(level, version, warn_only=True)
        base = json.loads(json.dumps(obj))
        ephemeral = base["spec"].pop("ephemeralContainers")
        name = json.loads(self.cluster.kubectl("create", "-n", ns, "-o", "json", "-f", "-",
                                               input_text=json.dumps(base)))["metadata"]["name"]

        def update() -> subprocess.CompletedProcess[str] | None:
            """PUT the live pod with the ephemeral containers (dry run); None on a write conflict."""
            live = json.loads(self.cluster.kubectl("get", "pod", "-n", ns, name, "-o", "json"))
            live["spec"]["ephemeralContainers"] = ephemeral
            uri = f"/api/v1/namespaces/{ns}/pods/{name}/ephemeralcontainers?dryRun=All"
            proc = self.cluster.run_kubectl("replace", "--raw", uri, "-f", "-", input_text=json.dumps(live))
            return None if "(Conflict)" in proc.stderr else proc

        try:
            proc = wait_for(update, CLUSTER_TIMEOUTS.kubectl, CLUSTER_TIMEOUTS.poll_interval,
                            f"a conflict-free ephemeralcontainers update of {ns}/{name}")
            assert proc.returncode == 0, f"ephemeralcontainers update failed: {proc.stderr}"
            return warned(proc.stderr, level, version)
        finally:
            self.cluster.kubectl("delete", "pod", "-n", ns, name, "--wait=false")


def as_pod(obj: dict[str, Any]) -> dict[str, Any]:
    """The Pod a workload's controller creates from its template (a bare Pod unchanged)."""
    found = pod_spec(obj)
    if obj.get("kind") == "Pod" or found is None:
        return obj
    meta = dict(pod_metadata(obj))
    meta["name"] = str((obj.get("metadata") or {}).get("name", "pod"))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": found[0]}


def psa_messages(stderr: str, level: str) -> list[str]:
    """The reason lists of every PodSecurity message about `level` in kubectl's stderr."""
    found = []
    for line in stderr.splitlines():
        match = PSA_MESSAGE.search(line)
        if match and match["level"] == level:
            found.append(match["reasons"])
    return found


def warned(stderr: str, level: str, version: str) -> Verdict:
    """A verdict from PodSecurity warnings (allowed when there are none)."""
    found = psa_messages(stderr, level)
    if not found:
        return Verdict("allowed", frozenset(), stderr.strip())
    checks = frozenset().union(*(reasons_to_checks(r, level, version) for r in found))
    return Verdict("warned", checks, stderr.strip())


def load(path: Path) -> dict[str, Any]:
    """A fixture: one object, without a namespace (the oracle chooses it)."""
    obj: dict[str, Any] = yaml.safe_load(path.read_text())
    obj.get("metadata", {}).pop("namespace", None)
    return obj


def fixture_version(obj: dict[str, Any]) -> str:
    """The policy version a fixture is judged at (its kube-version annotation, default 1.35)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(VERSION_ANNOTATION, DEFAULT_VERSION)).removeprefix("v")


def static_checks(obj: dict[str, Any], level: str, version: str) -> tuple[bool, set[str]]:
    """Whether our rules find something at a level, and the check IDs they name."""
    ctx = Context(kube_version=version)
    rules = ["pss-baseline"] + (["pss-restricted"] if level == "restricted" else [])
    violations = [v for rid in rules for v in get_rule(rid).check(obj, ctx)]
    return bool(violations), {v.check for v in violations if v.check}


def rel(path: Path) -> str:
    """A fixture's path under fixtures/rules/."""
    return str(path.relative_to(FIXTURES))


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    """One kwok cluster (no nodes needed: dry-run admission only) for the whole module."""
    with KwokCluster(nodes=0) as cluster:
        yield Oracle(cluster)


def test_fixture_folders_are_populated() -> None:
    for folder in FOLDERS:
        for kind in ("pass", "fail"):
            assert list((FIXTURES / folder / kind).glob("*.yaml")), f"no fixtures in {folder}/{kind}"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("path", FILES, ids=rel)
def test_admission_agrees_with_static_rules(oracle: Oracle, path: Path, level: str) -> None:
    obj = load(path)
    version = fixture_version(obj)
    verdict = oracle.verdict(path, level)
    flagged, ours = static_checks(obj, level, version)
    assert verdict.objects == flagged, (
        f"{rel(path)} at {level} v{version}: admission {verdict.how} {sorted(verdict.checks)} but our rules "
        f"{'found ' + str(sorted(ours)) if flagged else 'found nothing'}\n{verdict.message}"
    )
    assert verdict.checks == normalize(ours, level, version), (
        f"{rel(path)} at {level} v{version}: admission checks {sorted(verdict.checks)} != ours "
        f"{sorted(normalize(ours, level, version))}\n{verdict.message}"
    )


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_fixture_expectation_matches_admission(oracle: Oracle, path: Path) -> None:
    """A fail fixture's expect-checks are what admission reports at its folder's level; a pass fixture passes."""
    folder, kind = path.relative_to(FIXTURES).parts[:2]
    level = folder.removeprefix("pss-")
    obj = load(path)
    version = fixture_version(obj)
    verdict = oracle.verdict(path, level)
    if kind == "pass":
        assert not verdict.objects, f"{rel(path)}: admission {verdict.how} at {level}: {verdict.message}"
        return
    expected = (obj["metadata"].get("annotations") or {}).get(EXPECT, "")
    expect = normalize({c.strip() for c in expected.split(",") if c.strip()}, level, version)
    assert expect, f"{rel(path)}: fail fixture without {EXPECT}"
    # A restricted fixture names the checks the restricted level adds; baseline findings are pss-baseline's.
    seen = verdict.checks & RESTRICTED_ONLY if level == "restricted" else verdict.checks
    assert seen == expect, f"{rel(path)} at {level} v{version}: admission {sorted(seen)} != expected {sorted(expect)}"


#: Older policy versions every version-independent fixture is also judged at (the namespace labels pin
#: `enforce-version`), so the per-version check revisions are held to the real admission too.
OTHER_VERSIONS = ("1.25", "1.29", "1.32")
UNVERSIONED = [p for p in FILES if VERSION_ANNOTATION not in ((load(p).get("metadata") or {}).get("annotations") or {})]


@pytest.mark.parametrize("version", OTHER_VERSIONS)
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("path", UNVERSIONED, ids=rel)
def test_admission_agrees_at_older_versions(oracle: Oracle, path: Path, level: str, version: str) -> None:
    obj = load(path)
    verdict = oracle.verdict(path, level, version)
    flagged, ours = static_checks(obj, level, version)
    assert verdict.objects == flagged, (
        f"{rel(path)} at {level} v{version}: admission {verdict.how} {sorted(verdict.checks)} but our rules "
        f"{'found ' + str(sorted(ours)) if flagged else 'found nothing'}\n{verdict.message}"
    )
    assert verdict.checks == normalize(ours, level, version), (
        f"{rel(path)} at {level} v{version}: admission checks {sorted(verdict.checks)} != ours "
        f"{sorted(normalize(ours, level, version))}\n{verdict.message}"
    )
