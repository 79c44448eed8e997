"""Differential test: the persistent engine (tools/helmrender) renders exactly what `helm template` renders,
for the bundled charts' scenarios, every fixture chart, and a sample of fuzzed values.

What must match: the output text byte for byte (random data aside), hence every parsed object, and, when one
backend fails, the other fails too with the same normalised message.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings

from conformance import REPO_ROOT
from conformance.cases import chart_for
from conformance.chart import Scenario, load_chart
from conformance.fuzz.backend import render_cli
from conformance.fuzz.strategies import Example, valid_values
from conformance.render import inprocess
from conformance.render.helm_cli import render_files, template_args
from conformance.render.inprocess import comparable_error, engine, render_values
from conformance.render.manifest import SEPARATOR, RenderResult, split_documents
from conformance.timeouts import TIMEOUTS
from conformance.tools import run, tool_path
from conformance.values import load_yaml_mapping, merge_values

KUBE = "1.35.0"
BUNDLED = [REPO_ROOT / "charts" / n for n in ("floe-platform", "floe-jobs")]
FIXTURES = sorted(p for p in (REPO_ROOT / "fixtures" / "charts").iterdir() if (p / "Chart.yaml").is_file())


RANDOM = "<random>"


def keyed(result: RenderResult) -> dict[tuple[str, str, str], Any]:
    """The render's objects by (template, kind, name)."""
    return {(m.template, m.kind, m.name): m.obj for m in result.manifests}


def mask(obj: Any, twin: Any) -> Any:
    """`obj` with every leaf that differs from `twin` (random data, e.g. randAlphaNum secrets) masked."""
    if isinstance(obj, dict) and isinstance(twin, dict) and obj.keys() == twin.keys():
        return {k: mask(v, twin[k]) for k, v in obj.items()}
    if isinstance(obj, list) and isinstance(twin, list) and len(obj) == len(twin):
        return [mask(a, b) for a, b in zip(obj, twin, strict=True)]
    return obj if obj == twin else RANDOM


def apply(obj: Any, ref: Any) -> Any:
    """`obj` with the leaves masked in `ref` masked too (and nothing else)."""
    if ref == RANDOM:
        return RANDOM
    if isinstance(obj, dict) and isinstance(ref, dict):
        return {k: apply(v, ref[k]) if k in ref else v for k, v in obj.items()}
    if isinstance(obj, list) and isinstance(ref, list) and len(obj) == len(ref):
        return [apply(x, r) for x, r in zip(obj, ref, strict=True)]
    return obj


def masked(result: RenderResult, first: RenderResult, second: RenderResult) -> str:
    """`result`'s objects as canonical JSON, masked only where two in-process renders of the same values differ."""
    a, b = keyed(first), keyed(second)
    refs = {k: mask(a[k], b[k]) for k in a if k in b and a[k] != b[k]}
    out = {"|".join(k): apply(v, refs[k]) if k in refs else v for k, v in keyed(result).items()}
    return json.dumps(out, sort_keys=True, default=str, indent=1)


def assert_same(cli: RenderResult, inproc: RenderResult, what: str, again: RenderResult | None = None) -> None:
    """Both rendered the same objects (random data masked), or both failed with the same message."""
    assert bool(cli.error) == bool(inproc.error), f"{what}: CLI error {cli.error!r}, in-process {inproc.error!r}"
    if cli.error:
        assert cli.error == inproc.error, what
        return
    twin = again or inproc
    assert len(cli.manifests) == len(inproc.manifests), what
    assert masked(cli, inproc, twin) == masked(inproc, inproc, twin), what


def scenarios() -> list[Any]:
    """(chart, scenario) of every bundled and fixture chart."""
    out = []
    for chart_dir in [*BUNDLED, *FIXTURES]:
        if not (chart_dir / "Chart.yaml").is_file():
            continue
        for sc in chart_for(chart_dir, ()).scenarios:
            out.append(pytest.param(chart_dir, sc, id=f"{chart_dir.name}/{sc.name}"))
    return out


@pytest.mark.parametrize(("chart_dir", "scenario"), scenarios())
def test_scenario_renders_identically(chart_dir: Path, scenario: Scenario) -> None:
    """Each scenario (defaults, values-*.yaml, ci/*-values.yaml) renders the same with both backends: the engine
    given the values files (Helm reads and merges them, as `--values F1 --values F2`), and given the values
    merged in Python."""
    values: dict[str, Any] = {}
    for f in scenario.files:
        values = merge_values(values, load_yaml_mapping(f))
    cli = render_files(chart_for(chart_dir, ()), scenario.files, KUBE)
    cli = replace(cli, error=comparable_error(cli.error)) if cli.error else cli
    what = f"{chart_dir.name}/{scenario.name}"
    by_files, again = (inprocess.render_files(chart_dir, scenario.files, KUBE) for _ in range(2))
    assert_same(cli, by_files, f"{what} (files)", again)
    assert_same(cli, render_values(chart_dir, values, KUBE), f"{what} (values)", again)


def test_values_file_errors_match(tmp_path: Path) -> None:
    """A values file Helm cannot parse, or one that is missing, fails the same way on both backends."""
    chart_dir = REPO_ROOT / "fixtures" / "charts" / "fuzz-compliant"
    bad = tmp_path / "bad.yaml"
    bad.write_text("replicaCount: [1\n")
    for files in ((bad,), (tmp_path / "missing.yaml",), (tmp_path, bad)):
        proc = run([tool_path("helm"), *template_args(chart_dir, files, KUBE)], timeout=TIMEOUTS.helm_template)
        inproc = inprocess.render_files(chart_dir, files, KUBE)
        assert proc.returncode == 1 and inproc.error, files
        assert comparable_error(proc.stderr) == inproc.error


def fuzzed(chart_dir: Path, count: int) -> list[Example]:
    """A fixed sample of fuzzed schema-valid examples of a chart."""
    chart = load_chart(chart_dir)
    out: list[Example] = []

    @seed(7)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(valid_values(chart.schema or {}, chart.defaults))
    def collect(example: Example) -> None:
        out.append(example)

    collect()
    return out[:count]


FUZZED = [c for c in (REPO_ROOT / "charts" / "floe-platform", REPO_ROOT / "fixtures" / "charts" / "fuzz-compliant",
                      REPO_ROOT / "fixtures" / "charts" / "fuzz-div-zero",
                      REPO_ROOT / "fixtures" / "charts" / "fuzz-empty-index") if (c / "values.schema.json").is_file()]


@pytest.mark.parametrize("chart_dir", FUZZED, ids=[c.name for c in FUZZED])
def test_fuzzed_values_render_identically(chart_dir: Path) -> None:
    """A sample of fuzzed values renders the same with both backends (errors included), with and without
    Helm's schema check in process."""
    for example in fuzzed(chart_dir, 12):
        cli = render_cli(chart_dir, example.minimal, KUBE)
        inproc, again = (render_values(chart_dir, example.minimal, KUBE) for _ in range(2))
        assert_same(cli, inproc, f"{chart_dir.name} {example.minimal}", again)
        if not cli.error:
            fast = render_values(chart_dir, example.minimal, KUBE, validate=False)
            assert_same(cli, fast, f"{chart_dir.name} (no schema) {example.minimal}", again)


def test_schema_errors_match() -> None:
    """A schema violation gives the same normalised error from both backends."""
    chart_dir = REPO_ROOT / "fixtures" / "charts" / "fuzz-compliant"
    bad = {"replicaCount": 0, "unknown": 1}
    assert_same(render_cli(chart_dir, bad, KUBE), render_values(chart_dir, bad, KUBE), "schema error")
    assert render_values(chart_dir, bad, KUBE).error


def test_schema_checked_on_every_render() -> None:
    """The engine compiles the schema once, yet checks every render: invalid, valid and invalid values in turn
    give the CLI's answers in turn."""
    chart_dir = REPO_ROOT / "fixtures" / "charts" / "fuzz-compliant"
    for values in ({"replicaCount": "three"}, {"replicaCount": 2}, {"replicaCount": 0}, {}):
        cli, inproc = render_cli(chart_dir, values, KUBE), render_values(chart_dir, values, KUBE)
        assert_same(cli, inproc, f"schema check {values}")
    assert render_values(chart_dir, {"replicaCount": "three"}, KUBE).error
    assert render_values(chart_dir, {"replicaCount": 2}, KUBE).ok


def test_split_documents_is_the_separator_split() -> None:
    """split_documents (str.find) splits exactly where SEPARATOR (Helm's rule as a regular expression) splits, on
    every scenario's render and on the edge cases: `---` first, doubled, glued to text, followed by blanks."""
    texts = ["", "---", "---\n", "a\n---b\n", "------\n---  \nx", "x---\n--- \t \n", "\n---\n---",
             "a\r\n---\r\nb", "---# c\nk: v\n---\n", "\u00a0\n---\u00a0\u2003x\n", "a\n---\n---\n"]
    for chart_dir in [*BUNDLED, *FIXTURES]:
        for sc in chart_for(chart_dir, ()).scenarios:
            texts.append(str(engine(chart_dir, KUBE).ask_files(sc.files, True, TIMEOUTS.helm_template)
                             .get("manifest", "")))
    assert sum(len(t) for t in texts) > 100_000
    for text in texts:
        assert split_documents(text) == SEPARATOR.split(text), text[:200]


HELPERS = """{{- define "t.name" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end -}}
{{- define "t.count" -}}{{ if gt (int .) 0 }}{{ include "t.count" (sub (int .) 1) }},{{ end }}{{ . }}{{- end -}}
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "t.name" . }}
data:
  tpl: {{ tpl .Values.greeting . | quote }}
  tplDefine: {{ tpl "{{ define \\"in\\" }}in-{{ .Release.Namespace }}{{ end }}{{ include \\"in\\" . }}" . | quote }}
  count: {{ include "t.count" 3 | quote }}
  required: {{ required "name is required" .Values.name | quote }}
  toml: {{ toToml .Values.table | quote }}
  yamlPretty: {{ toYamlPretty .Values.table | quote }}
  json: {{ mustToJson .Values.table | quote }}
  fromYaml: {{ (fromYaml "a: 1").a | quote }}
  fromJsonArray: {{ fromJsonArray "[1,2]" | len | quote }}
  filesType: {{ typeOf .Files | quote }}
  file: {{ .Files.Get "files/a.txt" | quote }}
  lines: {{ .Files.Lines "files/a.txt" | len | quote }}
  host: {{ getHostByName "example.com" | quote }}
  lookup: {{ lookup "v1" "Pod" "" "" | len | quote }}
  template: {{ .Template.Name | quote }}
  basePath: {{ .Template.BasePath }}
  missing: "{{ .Values.nothing }}"
  isRoot: {{ .Chart.IsRoot | quote }}
  mutated: {{ .Values.mutated | default "no" | quote }}
  {{- if .Values.boom }}
  fail: {{ fail "boom was set" }}
  {{- end }}
"""
FILES = """{{- $_ := set .Values "mutated" "yes" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: files
data:
{{ (.Files.Glob "files/*").AsConfig | indent 2 }}
---
apiVersion: v1
kind: Secret
metadata:
  name: files
data:
{{ (.Files.Glob "files/*").AsSecrets | indent 2 }}
"""


def test_engine_functions_render_identically(tmp_path: Path) -> None:
    """A chart using what Helm's engine binds per render (include with recursion, tpl defining templates,
    required, fail, lookup, getHostByName, .Files and its methods, .Template, toToml/toYamlPretty/fromYaml,
    values set by one template and read by another) renders the same from the templates parsed once as from the
    CLI, and its errors are Helm's."""
    chart = tmp_path / "engine-funcs"
    (chart / "templates").mkdir(parents=True)
    (chart / "files").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: engine-funcs\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("name: floe\ngreeting: 'hi {{ .Release.Name }}'\ntable: {a: 1, b: {c: d}}\n")
    (chart / "files" / "a.txt").write_text("one\ntwo\n")
    (chart / "files" / "b.conf").write_text("key = value\n")
    (chart / "templates" / "_helpers.tpl").write_text(HELPERS)
    (chart / "templates" / "configmap.yaml").write_text(CONFIGMAP)
    (chart / "templates" / "z-files.yaml").write_text(FILES)  # Helm executes it first
    cases: list[dict[str, Any]] = [{}, {"name": "x", "greeting": "{{ .Values.name }}-{{ .Chart.Version }}"},
                                   {"name": "é€😀"}, {"name": ""}, {"boom": True}, {"greeting": "{{ .Values.name"}]
    for values in cases:
        cli = render_cli(chart, values, KUBE)
        answer = engine(chart, KUBE).ask(values, True, TIMEOUTS.fuzz_example)
        inproc = render_values(chart, values, KUBE)
        assert_same(cli, inproc, f"engine functions {values}")
        assert bool(answer.get("prepared")) == cli.ok, values
    ok = render_values(chart, {}, KUBE)
    data = next(m.obj["data"] for m in ok.manifests if m.kind == "ConfigMap" and m.name != "files")
    assert data["count"] == "0,1,2,3" and data["filesType"] == "engine.files" and data["mutated"] == "yes", data
    assert "boom was set" in render_values(chart, {"boom": True}, KUBE).error


def test_bundled_charts_render_from_templates_parsed_once() -> None:
    """The bundled charts' scenarios render through the templates parsed once (so the identity tests above test
    that path, not only Helm's fallback)."""
    for chart_dir in BUNDLED:
        for sc in chart_for(chart_dir, ()).scenarios:
            answer = engine(chart_dir, KUBE).ask_files(sc.files, True, TIMEOUTS.helm_template)
            assert answer.get("manifest") and answer.get("prepared"), (chart_dir.name, sc.name, answer.get("error"))


def test_answer_forms_agree() -> None:
    """A manifest answered as raw bytes (`"raw": true`, what inprocess asks for) equals the JSON-string answer
    (the form callers that do not ask for raw bytes get)."""
    chart_dir = REPO_ROOT / "fixtures" / "charts" / "fuzz-compliant"
    requests = b'{"values": {"replicaCount": 2}}\n{"values": {"replicaCount": 2}, "raw": true}\n'
    proc = run([tool_path("helmrender"), str(chart_dir), "--kube-version", KUBE], timeout=TIMEOUTS.helm_template,
               input_text=requests.decode())
    first, rest = proc.stdout.split("\n", 1)
    header, body = rest.split("\n", 1)
    assert json.loads(header)["manifest_bytes"] == len(body.encode()) > 1000
    assert json.loads(first)["manifest"] == body


def test_engine_loads_the_chart_once() -> None:
    """One engine process serves every render of a chart: it is started once, not per example."""
    chart_dir = REPO_ROOT / "fixtures" / "charts" / "fuzz-empty-index"
    for example in fuzzed(chart_dir, 8):
        render_values(chart_dir, example.minimal, KUBE)
    assert engine(chart_dir, KUBE).starts == 1


def test_pipelined_renders_answer_each_request_in_order(tmp_path: Path) -> None:
    """`render_scenarios` (each next request sent before the current answer is read) gives, in order, what one
    request at a time gives, a bad values file's error included, and the engine goes on after it."""
    chart = chart_for(REPO_ROOT / "charts" / "floe-platform", ())
    bad = tmp_path / "bad.yaml"
    bad.write_text("image: [unclosed\n")
    files = [sc.files for sc in chart.scenarios[:3]] + [(bad,)] + [sc.files for sc in chart.scenarios[3:6]]
    one_by_one = [inprocess.render_files(chart.path, f, "1.35.0") for f in files]
    pipelined = list(inprocess.render_scenarios(chart.path, files, "1.35.0"))
    assert [r.error for r in pipelined] == [r.error for r in one_by_one]
    assert pipelined[3].error and all(r.ok for i, r in enumerate(pipelined) if i != 3)
    # (Secrets hold random passwords, different on every render)
    assert [[m.obj for m in r.manifests if m.kind != "Secret"] for r in pipelined] == \
        [[m.obj for m in r.manifests if m.kind != "Secret"] for r in one_by_one]
    kinds = frozenset({"Deployment", "StatefulSet"})
    only = list(inprocess.render_scenarios(chart.path, files[:2], "1.35.0", kinds=kinds))
    assert [[m.obj for m in r.manifests] for r in only] == \
        [[m.obj for m in r.manifests if m.kind in kinds] for r in one_by_one[:2]]
