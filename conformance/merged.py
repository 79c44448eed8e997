"""The reports people and pipelines read, rebuilt from a reports folder after every run: `junit.xml` (every
tier and chart), `report.html`, and for several charts the merged `findings.json` and `timings.json`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conformance.htmlreport import HTML, write_html
from conformance.junitmerge import JUNIT, write_merged_junit
from conformance.results import FINDINGS, PLAN, TIMINGS, ChartResult, chart_folders, read_reports
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


def _up_to_date(root: Path) -> bool:
    """True when junit.xml and report.html are newer than every report they are made from."""
    outputs = [root / JUNIT, root / HTML]
    if not all(p.is_file() for p in outputs):
        return False
    inputs = [p for folder in chart_folders(root) for p in folder.iterdir()
              if p.name in (FINDINGS, TIMINGS, PLAN) or (p.name.startswith("junit-") and p.suffix == ".xml")]
    return max((p.stat().st_mtime for p in inputs), default=0) < min(p.stat().st_mtime for p in outputs)


def write_merged(root: Path) -> Path:
    """Rebuild junit.xml and report.html under `root` (and the merged JSON for several charts) unless they are
    newer than every report; returns the HTML report's path. ReportsError when the folder holds no reports."""
    if _up_to_date(root):
        return root / HTML
    charts = read_reports(root)
    if any(c.folder != root for c in charts):
        write_merged_findings(root, charts)
    write_merged_junit(root, charts)
    return write_html(root, charts)
