"""The fuzz tier finds each planted bug of the fixture charts, shrinks it to minimal values, writes a replay
file, and passes the compliant chart; plus unit tests of the schema transforms, strategies and mutations."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from jsonschema import Draft7Validator

from conformance import REPO_ROOT
from conformance.chart import load_chart
from conformance.fuzz.mutations import mutations
from conformance.fuzz.quoting import check_quoting
from conformance.fuzz.regex import MAX_GROUP, MAX_RUN, parse, pattern_strings, strategy
from conformance.fuzz.replay import to_yaml
from conformance.fuzz.runner import leaf_paths, without
from conformance.fuzz.schema import first_error, generation_schema, inline_refs, share, validator
from conformance.fuzz.strategies import Example, valid_values
from conformance.fuzz.target import make_target
from conformance.options import resolve
from conformance.values import merge_values

CHARTS = REPO_ROOT / "fixtures" / "charts"
SUITE = REPO_ROOT / "suites" / "fuzz" / "test_fuzz.py"


def run_fuzz(chart: str, reports: Path, tests: str, examples: int | None,
             env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Run the fuzz suite (the ci profile; default example count and budget unless `examples`) on a fixture
    chart; exit code and findings.json."""
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(SUITE), "-k", tests,
            "--chart", str(CHARTS / chart), "--reports", str(reports)]
    args += ["--fuzz-examples", str(examples)] if examples else []
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=reports.parent, timeout=300,
                          check=False)
    findings = json.loads((reports / "findings.json").read_text())
    return proc.returncode, findings


@pytest.mark.parametrize(("chart", "test", "rule", "minimal"), [
    ("fuzz-privileged-sidecar", "test_conformant", "fuzz-conformant", {"debugSidecar": {"enabled": True}}),
    ("fuzz-div-zero", "test_renders", "fuzz-renders", {"shards": 0}),
    ("fuzz-fail-combo", "test_renders", "fuzz-renders", {"tls": {"enabled": True}, "service": {"type": "NodePort"}}),
    # Three values at once: two flags on and a list the schema allows to be empty, which the chart indexes.
    ("fuzz-empty-index", "test_renders", "fuzz-renders",
     {"tls": {"enabled": True}, "metrics": {"enabled": True}, "hosts": []}),
])
def test_planted_bug_found_and_shrunk(chart: str, test: str, rule: str, minimal: dict[str, Any], tmp_path: Path,
                                      tool_env: dict[str, str]) -> None:
    """With the default settings, the planted bug is found in under a minute, its values are exactly the
    trigger, and the replay file holds them."""
    start = time.monotonic()
    code, data = run_fuzz(chart, tmp_path / "reports", test, None, tool_env)
    assert time.monotonic() - start < 60
    assert code == 1
    found = [f for f in data["findings"] if f["rule"] == rule and not f["waived"]]
    assert found, data
    assert all(f["values"] == minimal and f["tier"] == "fuzz" for f in found)
    replay = Path(found[0]["extra"]["replay"])
    assert yaml.safe_load(replay.read_text()) == minimal
    assert f"--values {replay}" in found[0]["extra"]["command"]


def test_compliant_chart_passes(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """Every property holds on the compliant fixture chart."""
    code, data = run_fuzz("fuzz-compliant", tmp_path / "reports", "test_", 300, tool_env)
    assert code == 0, data
    assert data["summary"]["errors"] == 0


def test_waiver_quarantines_finding(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A waiver in conformance-waivers.yaml quarantines a known fuzz finding (it is reported, not blocking)."""
    chart = tmp_path / "charts" / "fuzz-div-zero"
    chart.parent.mkdir()
    shutil.copytree(CHARTS / "fuzz-div-zero", chart)
    waiver = {"rule": "fuzz-renders", "object": "Chart/fuzz-div-zero", "reason": "known", "expiry": "2999-01-01"}
    (chart / "conformance-waivers.yaml").write_text(yaml.safe_dump({"waivers": [waiver]}))
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(SUITE), "-k", "test_renders",
            "--chart", str(chart), "--reports", str(tmp_path / "r"), "--fuzz-examples", "200"]
    proc = subprocess.run(args, capture_output=True, text=True, env=tool_env, cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "additionalProperties": False, "required": ["mode", "replicas"],
    "properties": {
        "mode": {"enum": ["a", "b"]},
        "replicas": {"type": "integer", "minimum": 1, "maximum": 5},
        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 10},
        "tags": {"type": "array", "items": {"type": "string"}},
        "image": {"$ref": "#/$defs/image"},
        "tls": {"type": "object", "properties": {"enabled": {"type": "boolean"}, "secret": {"type": "string"}},
                "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
                "then": {"required": ["secret"]}},
    },
    "$defs": {"image": {"type": "object", "required": ["tag"], "properties": {"tag": {"type": "string"}}}},
}
DEFAULTS = {"mode": "a", "replicas": 1, "image": {"tag": "1.0"}, "tls": {"enabled": False}}


def test_generation_schema_is_bounded_and_sparse() -> None:
    """Refs are inlined, sizes capped, and `required` relaxed only along the properties chain."""
    gen = generation_schema(SCHEMA)
    assert "required" not in gen and "required" not in gen["properties"]["image"]
    assert gen["properties"]["tags"]["maxItems"] == 3
    assert gen["properties"]["tags"]["items"]["maxLength"] == 24
    assert gen["properties"]["tls"]["then"] == {"required": ["secret"]}
    assert inline_refs(SCHEMA)["properties"]["image"]["required"] == ["tag"]


@seed(1)
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(valid_values(SCHEMA, DEFAULTS))
def test_valid_values_are_valid_and_minimal(example: Example) -> None:
    """Every generated example is schema-valid, and its minimal values only hold changes."""
    assert first_error(SCHEMA, example.merged) == ""
    for key, value in example.minimal.items():
        assert DEFAULTS.get(key) != value


def test_mutations_are_invalid_and_cover_each_constraint() -> None:
    """Each mutation breaks the schema, and every kind the schema states is produced."""
    found = mutations(SCHEMA, DEFAULTS)
    kinds = {m.kind for m in found}
    assert {"wrong-type", "below-minimum", "above-maximum", "not-in-enum", "unknown-key", "missing-required",
            "pattern-mismatch", "too-long"} <= kinds
    for m in found:
        assert first_error(SCHEMA, merge_values(DEFAULTS, m.override)), m.name


def test_replay_yaml_round_trips_ambiguous_strings() -> None:
    """Strings Go's YAML would read as numbers or booleans are quoted in replay files."""
    values = {"a": "1e3", "b": "yes", "c": "", "d": "plain", "e": 3}
    text = to_yaml(values)
    assert '"1e3"' in text and '"yes"' in text
    assert yaml.safe_load(text) == values


def _string_chart(root: Path, template_value: str) -> Path:
    """A one-ConfigMap chart whose `greeting` is written by `template_value`."""
    root.mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: greet\nversion: 1.0.0\ndescription: d\n")
    (root / "values.yaml").write_text("# -- greeting\ngreeting: hello\n")
    (root / "values.schema.json").write_text(json.dumps({
        "type": "object", "additionalProperties": False,
        "properties": {"greeting": {"type": "string", "maxLength": 40}}}))
    (root / "templates").mkdir()
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greet\ndata:\n  greeting: " + template_value + "\n")
    return root


@pytest.mark.parametrize(("template_value", "warned"), [("{{ .Values.greeting }}", True),
                                                        ("{{ .Values.greeting | quote }}", False)])
def test_quoting_check_warns_on_unquoted_strings(template_value: str, warned: bool, tmp_path: Path,
                                                 tool_env: dict[str, str]) -> None:
    """Opt-in: a free-text value with YAML syntax breaks an unquoted template: a warning naming the path and fix."""
    chart = _string_chart(tmp_path / "greet", template_value)
    settings = resolve({"chart": str(chart), "reports": str(tmp_path / "reports"), "fuzz_yaml_strings": "on"})
    found = check_quoting(make_target(load_chart(chart), settings))
    assert [(f.rule, f.check, f.path, f.severity) for f in found] == (
        [("fuzz-quoting", "unquoted", "greeting", "warning")] if warned else [])
    assert all("| quote" in f.remediation for f in found)


FLAGS_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "tls": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
        "metrics": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
        "hosts": {"type": "array", "maxItems": 3, "items": {"type": "string", "maxLength": 5}},
        "shards": {"type": "integer", "minimum": 0, "maximum": 16},
    },
}
FLAGS_DEFAULTS: dict[str, Any] = {"tls": {"enabled": False}, "metrics": {"enabled": False}, "hosts": ["a"],
                                  "shards": 2}


def test_strategies_reach_boundaries_and_flag_combinations() -> None:
    """Among 300 examples: every flag on together, every flag off together, empty and full lists, and the
    minimum and maximum of a bounded integer."""
    seen: list[dict[str, Any]] = []

    @seed(3)
    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(valid_values(FLAGS_SCHEMA, FLAGS_DEFAULTS))
    def collect(example: Example) -> None:
        seen.append(example.merged)

    collect()
    assert any(v["tls"]["enabled"] and v["metrics"]["enabled"] and v["hosts"] == [] for v in seen)
    assert any(not v["tls"]["enabled"] and not v["metrics"]["enabled"] for v in seen)
    assert {len(v["hosts"]) for v in seen} >= {0, 3}
    assert {v["shards"] for v in seen} >= {0, 16}


def test_minimise_drops_keys_the_failure_does_not_need() -> None:
    """Leaf paths of values (lists are leaves) and removing one leaf prunes the maps it empties."""
    values = {"a": {"b": 1, "c": {"d": [1]}}, "e": True}
    assert leaf_paths(values) == [("a", "b"), ("a", "c", "d"), ("e",)]
    assert without(values, ("a", "c", "d")) == {"a": {"b": 1}, "e": True}
    assert without({"a": {"b": 1}}, ("a", "b")) == {}


def test_budget_stops_the_search(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """--fuzz-budget caps a property's search: 100,000 examples asked for, one second allowed."""
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(SUITE), "-k", "test_renders",
            "--chart", str(CHARTS / "fuzz-compliant"), "--reports", str(tmp_path / "r"),
            "--fuzz-examples", "100000", "--fuzz-budget", "1"]
    start = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, env=tool_env, cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout
    assert time.monotonic() - start < 30
    junit = (tmp_path / "r" / "junit-fuzz.xml").read_text()
    tried = int(junit.split('name="examples" value="')[1].split('"')[0])
    assert 0 < tried < 100000


def _patterns(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {v for k, v in node.items() if k == "pattern" and isinstance(v, str)} | \
            {p for k, v in node.items() if k != "pattern" for p in _patterns(v)}
    return {p for v in node for p in _patterns(v)} if isinstance(node, list) else set()


SCHEMAS = [*REPO_ROOT.glob("charts/*/values.schema.json"), *CHARTS.glob("*/values.schema.json")]
BUNDLED_PATTERNS = sorted({p for f in SCHEMAS for p in _patterns(json.loads(f.read_text()))})


@pytest.mark.parametrize("pattern", BUNDLED_PATTERNS)
def test_pattern_strings_match_and_vary(pattern: str) -> None:
    """Every pattern of the bundled and fixture charts compiles to the fast strategy, whose strings all match it
    and are not all alike."""
    strategy = pattern_strings(pattern)
    assert strategy is not None
    drawn: list[str] = []

    @seed(5)
    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(text: str) -> None:
        assert re.search(pattern, text), text
        drawn.append(text)

    collect()
    assert len(set(drawn)) > 10


@pytest.mark.parametrize("pattern", ["^a(?=b)b$", "^[^a]+$", "^.+$", "abc", "^a|b$", r"^(a)\1$", r"^\bx$",
                                     "^a{2}{3}$", "^(?i)a$"])
def test_pattern_strings_leave_other_constructs_to_hypothesis(pattern: str) -> None:
    """Lookarounds, negated classes, `.`, unanchored and top-level alternatives, back-references, flags: None."""
    assert pattern_strings(pattern) is None


def test_pattern_strings_cap_unbounded_repeats() -> None:
    """`+` and `*` are drawn within MAX_RUN characters (a class) or MAX_GROUP repeats (a group) of their minimum."""
    node = parse(r"^[a-z]+(/[a-z]+)*$")
    assert node.parts is not None
    run, group = node.parts
    assert (run.low, run.high, group.low, group.high) == (1, None, 0, None)
    lengths: list[int] = []

    @seed(2)
    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy(node))
    def collect(text: str) -> None:
        lengths.append(max(len(p) for p in text.split("/")))
        assert text.count("/") <= MAX_GROUP

    collect()
    assert max(lengths) <= 1 + MAX_RUN


def test_shared_defaults_validate_like_plain_jsonschema() -> None:
    """Merging without copies and validating a shared defaults subtree once per subschema gives the errors a plain
    validator gives on a deep-copied merge, for every mutation of floe-platform's schema (all invalid) and for
    generated values (all valid)."""
    chart = load_chart(REPO_ROOT / "charts" / "floe-platform")
    schema, defaults = chart.schema or {}, chart.defaults
    plain = Draft7Validator(schema)
    share(defaults)

    def errors(check: Any, values: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted(("/".join(map(str, e.absolute_path)), e.message) for e in check.iter_errors(values))

    for m in mutations(schema, defaults):
        found = errors(validator(schema), merge_values(defaults, m.override, share=True))
        assert found and found == errors(plain, merge_values(defaults, m.override)), m.name

    @seed(4)
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(valid_values(schema, defaults))
    def valid(example: Example) -> None:
        assert plain.is_valid(copy.deepcopy(example.merged))

    valid()
