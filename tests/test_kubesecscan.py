"""kubesecscan (tools/kubesecscan: kubesec's rules and one kubeconform validator in one process) against the
reference `kubesec scan` CLI, both real pinned builds: the same JSON report (object, valid, message, score,
critical/passed/advise lists) for every workload of the bundled charts in every scenario, of every fixture chart,
and for schema-invalid documents (unknown fields, wrong types, kinds and versions without a schema)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conformance import REPO_ROOT, kubesec
from conformance.chart import load_chart
from conformance.render.helm_cli import render
from conformance.timeouts import TIMEOUTS
from conformance.tools import run, tool_path

KUBE = "1.35"
CHARTS = [REPO_ROOT / "charts" / "floe-platform", REPO_ROOT / "charts" / "floe-jobs",
          *sorted(p.parent for p in (REPO_ROOT / "fixtures" / "charts").glob("*/Chart.yaml"))]


def workload_docs(chart_dir: Path) -> list[dict[str, Any]]:
    """Every distinct document kubesec scores in any scenario of a chart (the reference `helm template`)."""
    chart = load_chart(chart_dir)
    docs: dict[str, dict[str, Any]] = {}
    for scenario in chart.scenarios:
        result = render(chart, scenario, f"{KUBE}.0")
        assert not result.error, f"{chart_dir.name} {scenario.name}: {result.error}"
        for manifest in result.manifests:
            doc = kubesec.scored_doc(manifest.obj)
            if doc is not None:
                docs.setdefault(json.dumps(doc, sort_keys=True), doc)
    return list(docs.values())


def reference(docs: list[dict[str, Any]], cache: Path) -> list[dict[str, Any]]:
    """`kubesec scan` of the documents as one `---`-separated stream on stdin (the CLI names it STDIN, as
    kubesecscan does by default)."""
    proc = run(["kubesec", "scan", "--schema-location", kubesec.schema_location(KUBE, cache), "-"],
               timeout=TIMEOUTS.kubesec, input_text="\n---\n".join(json.dumps(d) for d in docs))
    # kubesec exits 2 when a score is 0 or less; its report is on stdout either way.
    assert proc.returncode in (0, 2), proc.stderr
    reports: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(reports) == len(docs), proc.stderr
    return reports


def kubesecscan(docs: list[dict[str, Any]], cache: Path, *args: str) -> list[dict[str, Any]]:
    """kubesecscan's report of the documents, one JSON document per stdin line."""
    proc = run(["kubesecscan", "--schema-location", kubesec.schema_location(KUBE, cache), *args],
               timeout=TIMEOUTS.kubesec, input_text="".join(json.dumps(d) + "\n" for d in docs))
    assert proc.returncode == 0, proc.stderr
    reports: list[dict[str, Any]] = json.loads(proc.stdout)
    return reports


@pytest.mark.parametrize("chart_dir", CHARTS, ids=[f"{p.parent.name}/{p.name}" for p in CHARTS])
def test_kubesecscan_reports_what_kubesec_scan_reports(chart_dir: Path, kubesec_cache: Path) -> None:
    """Every workload of every scenario: the harness's path (scan_reports) gives kubesec's exact report."""
    docs = workload_docs(chart_dir)
    assert docs, f"{chart_dir}: no workload rendered in any scenario"
    want = reference(docs, kubesec_cache)
    got = kubesec.scan_reports(docs, KUBE, kubesec_cache)
    for doc, w, g in zip(docs, want, got, strict=True):
        assert g == w, f"{chart_dir.name}: {kubesec.ref(doc)} differs"
    assert [kubesec.score_of(r) for r in got] == [kubesec.score_of(r) for r in want]
    # Real advice is compared, not only empty lists.
    assert any(r.get("scoring", {}).get("advise") for r in want)


def _deployment(name: str, container: dict[str, Any], api_version: str = "apps/v1") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Deployment", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"a": name}},
                     "template": {"metadata": {"labels": {"a": name}}, "spec": {"containers": [container]}}}}


APP = {"name": "app", "image": "registry.example/app:1.0.0"}
INVALID = [
    _deployment("unknown-field", {**APP, "bogus": True}),                         # strict: no such field
    _deployment("wrong-type", {**APP, "ports": [{"containerPort": "eighty"}]}),  # a string for an integer
    {**_deployment("top-level", APP), "status2": {}},                              # unknown top-level field
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "no-containers"}, "spec": {}},  # required missing
    _deployment("no-schema-version", APP, api_version="extensions/v1beta1"),      # no schema for the version
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "no-schema-kind"}, "data": {"a": "b"}},
]


def test_invalid_documents_match_kubesec_scan(kubesec_cache: Path) -> None:
    """Schema-invalid documents (kubeconform in strict mode) between valid ones of the same kinds, each twice
    (the second time the shared validator's schema is cached): Valid false, kubesec's message, no score."""
    valid = [_deployment("ok", {**APP, "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True}}),
             {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod"}, "spec": {"containers": [APP]}}]
    docs = [valid[0], *INVALID, valid[1], *INVALID, valid[0]]
    want = reference(docs, kubesec_cache)
    assert [r["valid"] for r in want] == [True] + [False] * len(INVALID) + [True] + [False] * len(INVALID) + [True]
    assert "additionalProperties 'bogus' not allowed" in want[1]["message"]
    assert "could not find schema for ConfigMap" in want[len(INVALID)]["message"]
    for jobs in ("1", "3"):
        got = kubesecscan(docs, kubesec_cache, "--jobs", jobs)
        for doc, w, g in zip(docs, want, got, strict=True):
            assert g == w, f"--jobs {jobs}: {kubesec.ref(doc)} differs"
    # What the kubesec-score rule then reports for an invalid document.
    message = want[1]["message"]
    [(score, [item])] = kubesec.scan(INVALID[:1], KUBE, kubesec_cache)
    assert (score, item["id"], item["reason"]) == (0, "invalid", f"kubesec could not score it: {message}")


def test_kubesecscan_bad_input_is_one_line_exit_2(kubesec_cache: Path) -> None:
    """A line that is not a JSON document: exit 2, one line naming the line and the expected input."""
    location = kubesec.schema_location(KUBE, kubesec_cache)
    proc = subprocess.run([tool_path("kubesecscan"), "--schema-location", location],
                          input='{"kind": "Pod"}\nkind: Pod\n', capture_output=True, text=True,
                          timeout=TIMEOUTS.kubesec, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == ["kubesecscan: stdin line 2: not a JSON document; give one JSON document "
                                        "per line"]
