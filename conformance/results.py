"""Reading a reports folder back: per chart, its plan, tier outcomes, findings and timings.

A reports folder holds one chart's reports (`junit-<tier>.xml`, `findings.json`, `timings.json`, `plan.json`)
or one sub-folder per chart (what `conformance check` writes for several charts). The gate and the HTML report
both read reports through here, so what the report shows is what the gate judges.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from junitparser import JUnitXml, JUnitXmlError, Properties, TestCase, TestSuite

from conformance.errors import EnvError
from conformance.options import TIERS

#: Folders inside a reports folder that hold no chart's reports.
NOT_CHARTS = frozenset({".cache", "fuzz", "logs", "kind-logs", "dumps"})
PLAN = "plan.json"
TIMINGS = "timings.json"
FINDINGS = "findings.json"


class ReportsError(EnvError):
    """Reports are missing or unreadable (exit 2)."""


@dataclass
class Case:
    """One JUnit test case as the report and the gate need it."""

    name: str
    classname: str
    outcome: str  # passed | failed | error | skipped
    seconds: float
    message: str
    properties: dict[str, str]
    text: str = ""


@dataclass
class TierResult:
    """One tier of one chart: its cases and the suite-level properties."""

    tier: str
    cases: list[Case]
    properties: dict[str, str]

    def count(self, outcome: str) -> int:
        """How many cases ended with this outcome."""
        return sum(1 for c in self.cases if c.outcome == outcome)

    @property
    def seconds(self) -> float:
        """The tier's total test time."""
        return sum(c.seconds for c in self.cases)

    @property
    def passed(self) -> bool:
        """True when no case failed or errored."""
        return not (self.count("failed") or self.count("error"))


@dataclass
class ChartResult:
    """Everything one chart's run left in its reports folder."""

    folder: Path
    name: str
    plan: dict[str, Any]
    tiers: dict[str, TierResult]
    findings: list[dict[str, Any]]
    timings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def planned(self) -> list[str]:
        """The tiers `conformance check` planned to run (from plan.json; the tiers with results otherwise)."""
        return list(self.plan.get("tiers") or self.tiers)

    @property
    def simulated(self) -> list[Case]:
        """Cases whose result a cluster provider only simulated (JUnit property `simulated`)."""
        return [c for t in self.tiers.values() for c in t.cases if c.properties.get("simulated") == "true"]


def _props(node: Any) -> dict[str, str]:
    found = next(iter(node.iterchildren(Properties)), None)
    return {str(p.name): str(p.value) for p in found} if found is not None else {}


def _outcome(case: TestCase) -> tuple[str, str, str]:
    for result in case.result:
        kind = type(result).__name__.lower()
        outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}.get(kind)
        if outcome:
            return outcome, str(result.message or ""), str(result.text or "")
    return "passed", "", ""


#: What this process wrote to a junit-<tier>.xml (path -> (mtime, size), result): read back without parsing.
_WRITTEN: dict[Path, tuple[tuple[int, int], TierResult]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def remember(path: Path, result: TierResult) -> None:
    """Keep the results this process has just written to `path`: reading the file back (the merged reports are
    made right after) returns them while the file is unchanged, instead of parsing thousands of cases again."""
    _WRITTEN[path.resolve()] = (_stamp(path), result)


def read_junit(path: Path) -> TierResult:
    """One junit-<tier>.xml; ReportsError naming the file when it is not JUnit XML."""
    written = _WRITTEN.get(path.resolve())
    if written is not None and path.is_file() and written[0] == _stamp(path):
        return written[1]
    tier = path.stem.removeprefix("junit-")
    try:
        xml = JUnitXml.fromfile(str(path))
    except (JUnitXmlError, OSError, SyntaxError) as exc:
        raise ReportsError(f"{path}: not readable JUnit XML ({exc}); re-run the tier to rewrite it") from exc
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    cases: list[Case] = []
    props: dict[str, str] = {}
    for suite in suites:
        props |= _props(suite)
        for case in suite:
            outcome, message, text = _outcome(case)
            cases.append(Case(str(case.name), str(case.classname or ""), outcome, float(case.time or 0), message,
                              _props(case), text))
    return TierResult(tier, cases, props)


def _json(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportsError(f"{path}: not readable JSON ({exc}); re-run the check to rewrite it") from exc


def read_chart(folder: Path) -> ChartResult:
    """The reports of one chart's folder."""
    found = {t.tier: t for t in map(read_junit, sorted(folder.glob("junit-*.xml")))}
    tiers = {t: found[t] for t in sorted(found, key=lambda t: TIERS.index(t) if t in TIERS else len(TIERS))}
    findings = _json(folder / FINDINGS, {"findings": []})
    timings = _json(folder / TIMINGS, [])
    plan = _json(folder / PLAN, {})
    if not isinstance(findings, dict) or not isinstance(findings.get("findings", []), list):
        raise ReportsError(f"{folder / FINDINGS}: expected an object with a `findings` list")
    if not isinstance(timings, list) or not all(isinstance(r, dict) for r in timings):
        raise ReportsError(f"{folder / TIMINGS}: expected a list of timing rows")
    from_junit = next((t.properties["chart"] for t in tiers.values() if t.properties.get("chart")), "")
    chart = str(plan.get("name") or findings.get("chart") or from_junit or folder.name)
    return ChartResult(folder, Path(chart).name if "/" in chart else chart, plan, tiers,
                       list(findings.get("findings", [])), timings)


def chart_folders(root: Path) -> Iterator[Path]:
    """Every folder under `root` (itself included) that holds a chart's reports: a junit-<tier>.xml or a plan."""
    seen = set()
    for marker in sorted([*root.rglob("junit-*.xml"), *root.rglob(PLAN)]):
        folder = marker.parent
        if folder not in seen and not NOT_CHARTS & set(folder.relative_to(root).parts):
            seen.add(folder)
            yield folder


def read_reports(root: Path) -> list[ChartResult]:
    """Every chart's reports under `root`; ReportsError when the folder is missing or holds none."""
    if not root.is_dir():
        raise ReportsError(f"{root}: no such reports folder; run `conformance check CHART --reports {root}` first")
    charts = [read_chart(f) for f in chart_folders(root)]
    if not charts:
        raise ReportsError(f"{root}: no chart reports here (no junit-<tier>.xml or plan.json); "
                           f"run `conformance check CHART --reports {root}` first")
    return charts
