"""The reports people and pipelines read, rebuilt from a reports folder after every run: `junit.xml` (every
tier and chart), `report.html`, and for several charts the merged `findings.json` and `timings.json`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conformance.htmlreport import write_html
from conformance.junitmerge import write_merged_junit
from conformance.results import FINDINGS, TIMINGS, ChartResult, read_reports
from conformance.summary import dedupe


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def write_merged_findings(root: Path, charts: list[ChartResult]) -> None:
    """For a folder of chart folders: every chart's findings (each tagged with its chart) and timings."""
    findings = [{**f, "chart": c.name} for c in charts for f in dedupe(c.findings)]
    _write_json(root / FINDINGS, {
        "charts": [c.name for c in charts],
        "summary": {
            "errors": sum(1 for f in findings if f.get("severity") == "error" and not f.get("waived")),
            "warnings": sum(1 for f in findings if f.get("severity") == "warning" and not f.get("waived")),
            "waived": sum(1 for f in findings if f.get("waived")),
        },
        "findings": findings,
    })
    _write_json(root / TIMINGS, [{**r, "chart": r.get("chart") or c.name} for c in charts for r in c.timings])


def write_merged(root: Path) -> Path:
    """Rebuild junit.xml and report.html under `root` (and the merged JSON for several charts); returns the
    HTML report's path. ReportsError when the folder holds no readable reports."""
    charts = read_reports(root)
    if any(c.folder != root for c in charts):
        write_merged_findings(root, charts)
    write_merged_junit(root, charts)
    return write_html(root, charts)
