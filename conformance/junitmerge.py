"""`<reports>/junit.xml`: every chart's and tier's results in one JUnit file, written with junitparser.

The per-tier files already hold every xdist worker's cases (the controller collects them); this file joins the
tiers and, for several charts, the charts, and puts on every case the properties a CI system filters on: chart,
scenario, tier, rule, provider, Kubernetes and Helm versions. Names are the pytest node IDs (scenario, rule and
object, never a hash or a counter), so a case keeps its name from run to run.
"""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Properties, Property, Skipped, TestCase, TestSuite

from conformance.results import Case, ChartResult

#: Properties every case carries (empty when the run cannot know them, e.g. `rule` on a cluster flow's setup).
CASE_PROPERTIES = ("chart", "scenario", "tier", "rule", "provider", "kube_version", "helm_version")
JUNIT = "junit.xml"
CLUSTER_TIERS = ("cluster", "e2e")


def run_properties(chart: ChartResult, tier: str) -> dict[str, str]:
    """A tier's run-level properties: from its JUnit suite, with plan.json (what the CLI resolved) on top."""
    props = dict(chart.tiers[tier].properties)
    plan = chart.plan
    for key in ("kube_version", "helm_version"):
        if plan.get(key):
            props[key] = str(plan[key])
    if tier not in CLUSTER_TIERS:
        props["provider"] = ""  # no cluster: the --provider setting says nothing about these results
    elif plan.get("provider"):
        props["provider"] = str(plan["provider"])
    props["chart"] = chart.name
    props["tier"] = tier
    return props


def _case(chart: str, case: Case, run: dict[str, str]) -> TestCase:
    tc = TestCase(case.name, f"{chart}.{case.classname}" if case.classname else chart, case.seconds)
    props = Properties()
    merged = {k: run.get(k, "") for k in CASE_PROPERTIES} | {k: v for k, v in case.properties.items() if v}
    merged["chart"] = chart
    for key, value in merged.items():
        props.add_property(Property(key, value))
    tc.append(props)
    if case.outcome in ("failed", "error"):
        result = (Failure if case.outcome == "failed" else Error)(case.message[:500])
        result.text = case.text
        tc.result = [result]
    elif case.outcome == "skipped":
        tc.result = [Skipped(case.message[:500])]
    return tc


def merged_junit(charts: list[ChartResult]) -> JUnitXml:
    """One suite per chart and tier, every case with the run's properties."""
    xml = JUnitXml("conformance")
    for chart in charts:
        for tier in chart.tiers:  # in TIERS order (results.read_chart)
            run = run_properties(chart, tier)
            suite = TestSuite(f"{chart.name}.{tier}")
            for key, value in run.items():
                suite.add_property(key, value)
            # add_testcases recounts once; add_testcase per case would recount every time (quadratic)
            suite.add_testcases([_case(chart.name, case, run) for case in chart.tiers[tier].cases])
            xml.add_testsuite(suite)
    xml.update_statistics()
    return xml


def write_merged_junit(root: Path, charts: list[ChartResult]) -> Path:
    """Write `<root>/junit.xml` (through a temporary file, so a reader never sees half of it)."""
    path = root / JUNIT
    tmp = path.with_suffix(".xml.tmp")
    merged_junit(charts).write(str(tmp))
    tmp.replace(path)
    return path
