"""JUnit XML per tier, written by the plugin from the test reports it receives (also under pytest-xdist)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from conformance.results import Case, TierResult, remember


@dataclass
class CaseResult:
    """The outcome of one test case, as JUnit needs it."""

    nodeid: str
    tier: str
    outcome: str  # passed | failed | error | skipped
    duration: float = 0.0
    message: str = ""
    text: str = ""
    properties: list[tuple[str, str]] = field(default_factory=list)


def _split(nodeid: str) -> tuple[str, str]:
    path, _, name = nodeid.partition("::")
    classname = path.removesuffix(".py").replace("/", ".")
    return classname, name or path


def write_junit(path: Path, tier: str, chart: str, cases: list[CaseResult],
                run: dict[str, str] | None = None, seconds: float | None = None) -> None:
    """Write one tier's results as a JUnit testsuite (every case, with its rule and chart properties; `run`
    adds run-level properties such as the Kubernetes and Helm versions; `seconds`: the tier's test time, when
    its cases' own times do not add up to it, as for the cases of a grouped test)."""
    suite = ET.Element("testsuite", name=f"conformance.{tier}", tests=str(len(cases)),
                       failures=str(sum(c.outcome == "failed" for c in cases)),
                       errors=str(sum(c.outcome == "error" for c in cases)),
                       skipped=str(sum(c.outcome == "skipped" for c in cases)),
                       time=f"{sum(c.duration for c in cases) if seconds is None else seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="chart", value=chart)
    ET.SubElement(props, "property", name="tier", value=tier)
    for key, value in (run or {}).items():
        ET.SubElement(props, "property", name=key, value=value)
    for c in cases:
        classname, name = _split(c.nodeid)
        tc = ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{c.duration:.3f}")
        if c.properties:
            tp = ET.SubElement(tc, "properties")
            for key, value in c.properties:
                ET.SubElement(tp, "property", name=key, value=value)
        if c.outcome in ("failed", "error"):
            el = ET.SubElement(tc, "failure" if c.outcome == "failed" else "error", message=c.message[:500])
            el.text = c.text
        elif c.outcome == "skipped":
            ET.SubElement(tc, "skipped", message=c.message[:500])
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    tmp.replace(path)
    remember(path, TierResult(tier, [_as_read(c) for c in cases], {"chart": chart, "tier": tier, **(run or {})}))


def _as_read(c: CaseResult) -> Case:
    """A case as `conformance.results.read_junit` reads it back from the file `write_junit` writes."""
    classname, name = _split(c.nodeid)
    failed = c.outcome in ("failed", "error")
    return Case(name, classname, c.outcome, float(f"{c.duration:.3f}"),
                c.message[:500] if failed or c.outcome == "skipped" else "", dict(c.properties),
                c.text if failed else "")
