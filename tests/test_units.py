"""Small pure functions: values merging and diffing, image references, selectors, values docs, waivers,
manifest parsing. (kubesec batching runs the real kubesecscan.)"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import kubesec
from conformance.render.manifest import parse_manifests
from conformance.rules.hygiene import image_tag
from conformance.rules.labels import selector_of, selects
from conformance.rules.lint import undocumented_keys
from conformance.summary import console, dedupe
from conformance.values import diff_values, merge_values
from conformance.waivers import Waiver, find, parse

# Values: Helm's coalesce.

BASE: dict[str, Any] = {
    "replicas": 1,
    "image": {"repository": "registry.example/web", "tag": "1.0.0", "pullPolicy": "IfNotPresent"},
    "args": ["--a", "--b"],
    "extra": {"keep": True, "drop": "me"},
}


def test_merge_is_deep_replaces_lists_and_null_deletes() -> None:
    """Maps merge key by key, lists and scalars replace, null removes the key (nested too)."""
    override = {"replicas": 3, "image": {"tag": "2.0.0"}, "args": ["--c"], "extra": {"drop": None}, "new": {"x": 1}}
    merged = merge_values(BASE, override)
    assert merged == {
        "replicas": 3,
        "image": {"repository": "registry.example/web", "tag": "2.0.0", "pullPolicy": "IfNotPresent"},
        "args": ["--c"],
        "extra": {"keep": True},
        "new": {"x": 1},
    }


def test_merge_null_deletes_whole_subtree_and_missing_keys() -> None:
    """null on a map deletes the map; null for a key the base lacks is simply absent."""
    merged = merge_values(BASE, {"image": None, "absent": None})
    assert "image" not in merged and "absent" not in merged
    assert merged["replicas"] == 1


def test_merge_scalar_over_map_and_map_over_scalar() -> None:
    """A type change replaces the value instead of merging."""
    assert merge_values({"a": {"b": 1}}, {"a": "flat"}) == {"a": "flat"}
    assert merge_values({"a": "flat"}, {"a": {"b": 1}}) == {"a": {"b": 1}}


def test_merge_does_not_mutate_its_inputs() -> None:
    """Neither the base nor the override is changed, and the result shares no nested objects with them."""
    base, override = copy.deepcopy(BASE), {"image": {"tag": "2"}, "args": ["--z"]}
    merged = merge_values(base, override)
    merged["image"]["repository"] = "changed"
    merged["args"].append("--y")
    assert base == BASE and override == {"image": {"tag": "2"}, "args": ["--z"]}


def test_diff_values_is_the_minimal_override() -> None:
    """Only changed leaves, new keys, and null for removed keys."""
    values = {"replicas": 1, "image": {"repository": "registry.example/web", "tag": "2.0.0"},
              "args": ["--a", "--b"], "extra": {"keep": True, "drop": "me"}, "new": 1}
    assert diff_values(BASE, values) == {"image": {"tag": "2.0.0", "pullPolicy": None}, "new": 1}
    assert diff_values(BASE, copy.deepcopy(BASE)) == {}


@pytest.mark.parametrize("values", [
    {"replicas": 5},
    {"image": {}, "args": [], "extra": {"keep": False}},
    {"image": "flat", "args": {"now": "a map"}, "extra": {"keep": True, "drop": "me", "more": {"deep": [1]}}},
])
def test_merge_of_diff_reproduces_the_values(values: dict[str, Any]) -> None:
    """merge(base, diff(base, v)) == v: the diff is a faithful override."""
    assert merge_values(BASE, diff_values(BASE, values)) == values


# Image references.

@pytest.mark.parametrize(("image", "tag"), [
    ("nginx", ""),
    ("nginx:1.27", "1.27"),
    ("nginx:latest", "latest"),
    ("registry.example:5000/team/app", ""),
    ("registry.example:5000/team/app:2.1", "2.1"),
    ("localhost:5000/app:v1.0.0-rc.1", "v1.0.0-rc.1"),
    ("ghcr.io/org/app@sha256:" + "a" * 64, None),
    ("ghcr.io/org/app:1.0@sha256:" + "b" * 64, None),
    ("registry.example:5000/app@sha256:" + "c" * 64, None),
])
def test_image_tag(image: str, tag: str | None) -> None:
    """Registry ports are not tags; a digest pins the image whatever the tag."""
    assert image_tag(image) == tag


# Label selectors.

LABELS = {"app.kubernetes.io/name": "web", "app.kubernetes.io/component": "api", "tier": "backend"}


@pytest.mark.parametrize(("match", "exprs", "expected"), [
    ({}, [], True),
    ({"app.kubernetes.io/name": "web"}, [], True),
    ({"app.kubernetes.io/name": "db"}, [], False),
    ({"missing": "x"}, [], False),
    ({}, [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["api", "worker"]}], True),
    ({}, [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["worker"]}], False),
    ({}, [{"key": "missing", "operator": "In", "values": ["x"]}], False),
    ({}, [{"key": "tier", "operator": "NotIn", "values": ["frontend"]}], True),
    ({}, [{"key": "tier", "operator": "NotIn", "values": ["backend"]}], False),
    ({}, [{"key": "missing", "operator": "NotIn", "values": ["x"]}], True),
    ({}, [{"key": "tier", "operator": "Exists"}], True),
    ({}, [{"key": "missing", "operator": "Exists"}], False),
    ({}, [{"key": "missing", "operator": "DoesNotExist"}], True),
    ({}, [{"key": "tier", "operator": "DoesNotExist"}], False),
    ({}, [{"key": "tier", "operator": "Matches", "values": ["backend"]}], False),
    ({"app.kubernetes.io/name": "web"}, [{"key": "tier", "operator": "Exists"},
                                        {"key": "canary", "operator": "DoesNotExist"}], True),
])
def test_selects(match: dict[str, str], exprs: list[dict[str, Any]], expected: bool) -> None:
    """matchLabels and every matchExpressions operator, ANDed; unknown operators select nothing."""
    assert selects(match, exprs, LABELS) is expected


def test_selector_of_each_kind() -> None:
    """Services use a plain map, workloads and PDBs matchLabels/matchExpressions, NetworkPolicies podSelector."""
    svc = {"kind": "Service", "spec": {"selector": {"a": 1}}}
    dep = {"kind": "Deployment", "spec": {"selector": {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "c"}]}}}
    netpol = {"kind": "NetworkPolicy", "spec": {"podSelector": {"matchLabels": {"x": "y"}}}}
    assert selector_of(svc) == ({"a": "1"}, [], "spec.selector")
    assert selector_of(dep) == ({"a": "b"}, [{"key": "c"}], "spec.selector")
    assert selector_of(netpol) == ({"x": "y"}, [], "spec.podSelector")
    assert selector_of({"kind": "ConfigMap", "data": {}}) is None
    assert selector_of({"kind": "Service", "spec": {"type": "ExternalName"}}) is None


# Values documentation.

def test_undocumented_keys_paths_and_lines() -> None:
    """Nested paths with their line; a blank line breaks the link between a comment and its key."""
    text = "\n".join([
        "# -- image",          # 1
        "image:",              # 2
        "  repository: web",   # 3 undocumented
        "  # -- tag",          # 4
        "  tag: '1'",          # 5
        "# -- stale comment",  # 6
        "",                    # 7
        "port: 80",            # 8 undocumented
        "service:",            # 9 undocumented
        "  # -- type",         # 10
        "  type: ClusterIP",   # 11
    ])
    assert undocumented_keys(text) == [("image.repository", 3), ("port", 8), ("service", 9)]


def test_undocumented_keys_skips_lists_and_block_scalars() -> None:
    """List items and the text of `|` / `>-` values are not keys."""
    text = "\n".join([
        "# -- env",
        "env:",
        "  - name: A",
        "    value: b",
        "# -- config",
        "config: |",
        "  server:",
        "",
        "    port: 8080",
        "# -- motd",
        "motd: >-",
        "  hello: world",
        "after: 1",
    ])
    assert undocumented_keys(text) == [("after", 13)]


def test_undocumented_keys_quoted_keys() -> None:
    """Quoted keys are reported without their quotes."""
    assert undocumented_keys('"a.b": 1\n# -- c\n\'c\': 2\n') == [("a.b", 1)]


# Waivers.

TODAY = dt.date(2026, 6, 1)


def test_waiver_matches_globs_check_and_scenario() -> None:
    """Rule, object, check and scenario are globs; check and scenario default to everything."""
    w = Waiver("pss-*", "Deployment/*-web", "reason", dt.date(2026, 12, 31))
    assert w.matches("pss-restricted", "runAsNonRoot", "Deployment/rel-web", "defaults")
    assert not w.matches("probes", "livenessProbe", "Deployment/rel-web", "defaults")
    assert not w.matches("pss-restricted", "runAsNonRoot", "StatefulSet/rel-web", "defaults")
    narrow = Waiver("pss-restricted", "*", "reason", dt.date(2026, 12, 31), check="runAsNonRoot", scenario="ci/*")
    assert narrow.matches("pss-restricted", "runAsNonRoot", "Pod/x", "ci/01-ha-values")
    assert not narrow.matches("pss-restricted", "runAsNonRoot", "Pod/x", "defaults")
    assert not narrow.matches("pss-restricted", "capabilities_restricted", "Pod/x", "ci/01-ha-values")


def test_waiver_expiry_day_is_still_active() -> None:
    """A waiver waives through its expiry day and not after."""
    w = Waiver("probes", "*", "reason", TODAY)
    assert w.active(TODAY)
    assert not w.active(TODAY + dt.timedelta(days=1))


def test_find_skips_expired_and_returns_first_active() -> None:
    """find() ignores expired waivers even when they match."""
    expired = Waiver("probes", "*", "old", dt.date(2020, 1, 1))
    active = Waiver("probes", "Deployment/*", "new", dt.date(2030, 1, 1))
    assert find([expired, active], "probes", "livenessProbe", "Deployment/web", "defaults", TODAY) is active
    assert find([expired], "probes", "livenessProbe", "Deployment/web", "defaults", TODAY) is None
    assert find([active], "probes", "livenessProbe", "Pod/web", "defaults", TODAY) is None


def test_parse_keeps_well_formed_waivers_only() -> None:
    """Malformed entries are dropped (waivers-valid reports them); string and YAML dates both work."""
    entries = yaml.safe_load("""
    - {rule: probes, object: "Deployment/*", reason: slow, expiry: 2030-01-01}
    - {rule: probes, object: "Deployment/*", reason: slow, expiry: "2030-02-01", check: livenessProbe}
    - {rule: probes, object: "Deployment/*", expiry: 2030-01-01}
    - {rule: probes, object: "Deployment/*", reason: slow, expiry: "next year"}
    - not a mapping
    """)
    waivers = parse(entries)
    assert [(w.expiry, w.check) for w in waivers] == [
        (dt.date(2030, 1, 1), "*"), (dt.date(2030, 2, 1), "livenessProbe")]


def test_parse_timestamp_expiry_is_usable() -> None:
    """YAML reads `2030-01-01T00:00:00` as a datetime; the parsed waiver must still compare with a date."""
    waivers = parse(yaml.safe_load("- {rule: probes, object: '*', reason: r, expiry: 2030-01-01T00:00:00}"))
    assert len(waivers) == 1
    assert waivers[0].active(TODAY)


# Manifests.

RENDERED = """---
# Source: web/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: rel-web
---
# Source: web/templates/empty.yaml
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: rel-web
spec:
  ports:
    - port: 80
---
# Source: web/templates/tests/test-connection.yaml
apiVersion: v1
kind: Pod
metadata:
  name: "rel-web-test"
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox:1.37.0
      args: ["---", "# Source: not/a/template.yaml"]
"""


def test_parse_manifests_keeps_source_and_skips_empty_documents() -> None:
    """Each object keeps the template it came from; empty documents are dropped."""
    ms = parse_manifests(RENDERED)
    assert [(m.ref, m.template) for m in ms] == [
        ("ServiceAccount/rel-web", "web/templates/serviceaccount.yaml"),
        ("Service/rel-web", "web/templates/service.yaml"),
        ("Pod/rel-web-test", "web/templates/tests/test-connection.yaml"),
    ]
    assert ms[2].obj["spec"]["containers"][0]["args"] == ["---", "# Source: not/a/template.yaml"]


def _workload(kind: str, name: str) -> dict[str, Any]:
    spec = {"containers": [{"name": "app", "image": "registry.example/app:1.0.0"}]}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"a": name}},
                     "template": {"metadata": {"labels": {"a": name}}, "spec": spec}}}


def test_kubesec_scores_every_workload_of_a_render(kubesec_cache: Path) -> None:
    """One kubesecscan run scores every workload of a render, other kinds are left out."""
    objects = [_workload("Deployment", "web"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
               _workload("Pod", "test"), _workload("StatefulSet", "db")]
    scores = kubesec.scores(objects, "1.35", kubesec_cache)
    assert sorted(scores) == ["Deployment/web", "Pod/test", "StatefulSet/db"]


def test_undocumented_keys_readme_generator_and_helm_docs_paths() -> None:
    """`## @param a.b` (readme-generator) and `# a.b -- text` (helm-docs) document keys by path; `@skip` skips."""
    text = "\n".join([
        "## @section Image",
        "## @param image.registry Image registry",
        "## @param image.repository Image repository",
        "## @skip extraDeploy",
        "image:",
        "  registry: docker.io",
        "  repository: bitnami/nginx",
        "  tag: 1.27.0",             # 8: named by nothing
        "# service.port -- the port",
        "# -- service",
        "service:",
        "  port: 80",
        "extraDeploy:",
        "  a: 1",
    ])
    assert undocumented_keys(text) == [("image.tag", 8)]


def test_undocumented_keys_free_form_maps_are_documented_at_the_map() -> None:
    """Entries of annotations, labels, env maps and maps the schema leaves open are not keys to document."""
    schema = {"type": "object", "properties": {
        "config": {"type": "object", "additionalProperties": {"type": "string"}},
        "strict": {"$ref": "#/definitions/strict"}},
        "definitions": {"strict": {"type": "object", "properties": {"a": {"type": "string"}},
                                   "additionalProperties": False}}}
    text = "\n".join([
        "# -- annotations of the Service",
        "service:",
        "  # -- annotations",
        "  annotations:",
        "    prometheus.io/scrape: 'true'",
        "    prometheus.io/port: '9090'",
        "# -- free-form settings",
        "config:",
        "  anything: goes",
        "  nested:",
        "    deep: 1",
        "# -- a strict map",
        "strict:",
        "  a: b",                     # 14: the schema names it: documented per key
    ])
    assert undocumented_keys(text, schema) == [("strict.a", 14)]


# One finding per root cause, and the console summary.

def _f(scenario: str, rule: str = "probes", name: str = "web", **kw: str) -> dict[str, str]:
    base = {"tier": "render", "rule": rule, "check": "livenessProbe", "severity": "error", "kind": "Deployment",
            "name": name, "namespace": "", "container": "web", "path": "spec.x", "message": "m",
            "remediation": "add a livenessProbe", "scenario": scenario, "waived": ""}
    return {**base, **kw}


def test_dedupe_lists_scenarios_of_one_root_cause() -> None:
    """The same rule, check, object and path in three scenarios is one finding naming the three."""
    out = dedupe([_f("defaults"), _f("values-prod"), _f("ci/01"), _f("defaults", name="api")])
    assert [(f["name"], f["scenarios"]) for f in out] == [("web", ["defaults", "values-prod", "ci/01"]),
                                                          ("api", ["defaults"])]


def test_console_line_names_the_field_a_message_does_not(tmp_path: Path) -> None:
    """A schema error quoting only the bad value gets its field path; a message naming its field does not."""
    text = console([_f("defaults", rule="k8s-schema", check="type", kind="ConfigMap", container="",
                       path="data.replicas", message="Kubernetes 1.35 schema: 2 is not of type 'string', 'null'"),
                    _f("defaults", path="spec.ports[0]", message="Additional properties are not allowed"),
                    _f("defaults", rule="chart-metadata", name="c", path="Chart.yaml:version", message="version 1.2"),
                    _f("defaults", name="api", path="spec.template.spec.containers[0].livenessProbe",
                       message='container "web" has no livenessProbe')], tmp_path)
    assert "ConfigMap/web at data.replicas [defaults]: Kubernetes 1.35 schema: 2 is not" in text, text
    assert "container web at spec.ports[0] [defaults]" in text, text
    assert "Deployment/api container web [defaults]: container" in text, text
    assert "Deployment/c container web [defaults]: version 1.2" in text, text


def test_console_summary_per_family_with_fix_and_reports(tmp_path: Path) -> None:
    """Per rule family: counts and the first few findings with their fix; then where the reports are."""
    findings = [_f(s, name=n) for n in ("a", "b", "c", "d") for s in ("defaults", "values-prod")]
    findings.append(_f("defaults", rule="pss-restricted", check="runAsNonRoot", remediation="set runAsNonRoot"))
    text = console(findings, tmp_path)
    assert "hygiene: 4 errors, 0 warnings" in text and "pss: 1 errors" in text
    assert text.count("fix: add a livenessProbe") == 3 and "... and 1 more" in text
    assert "[defaults +1 more]" in text
    assert text.splitlines()[-1].startswith("conformance: 5 errors, 0 warnings, 0 waived") and str(tmp_path) in text
