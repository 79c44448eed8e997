"""Test cases of the lint and render tiers: one case per rule x object (x scenario), so every failure shows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance import kubesec
from conformance.chart import Chart, Scenario, chart_yaml_files, load_chart, load_crds, load_waivers_text
from conformance.options import Settings
from conformance.render.helm_cli import render
from conformance.render.manifest import Manifest
from conformance.report import Finding
from conformance.rules import Context, Rule, all_rules
from conformance.rules.lint import chart_document
from conformance.timeouts import TIMEOUTS
from conformance.tools import run
from conformance.waivers import Waiver, find, parse

RENDER_FAMILIES = ("pss", "labels", "schema", "hygiene", "networking", "availability", "api")
HELM_MAJORS = ("helm", "helm3")


@dataclass(frozen=True)
class Case:
    """One rule applied to one object in one scenario; `evaluate` turns violations into findings."""

    tier: str
    scenario: str
    rule: Rule
    obj: Manifest
    ctx: Context
    waivers: tuple[Waiver, ...] = ()
    values: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        """The pytest ID: scenario/rule/Kind/name."""
        return f"{self.scenario}/{self.rule.id}/{self.obj.ref}"

    def evaluate(self) -> list[Finding]:
        """Run the rule and return its findings, waivers applied."""
        meta = self.obj.obj.get("metadata") or {}
        out = []
        for v in self.rule.check(self.obj.obj, self.ctx):
            waiver = find(list(self.waivers), self.rule.id, v.check, self.obj.ref, self.scenario)
            out.append(Finding(
                rule=self.rule.id, check=v.check, severity=self.rule.severity, kind=self.obj.kind,
                name=self.obj.name, namespace=str(meta.get("namespace", "") or ""), container=v.container,
                template=self.obj.template, path=v.path, message=v.message, remediation=v.remediation,
                scenario=self.scenario, tier=self.tier, values=self.values,
                waived=f"{waiver.reason} (until {waiver.expiry})" if waiver else "",
            ))
        return out


@dataclass(frozen=True)
class RenderFailure:
    """A scenario that did not render: Helm's error is the finding."""

    scenario: str
    error: str
    files: tuple[str, ...]

    @property
    def id(self) -> str:
        """The pytest ID."""
        return f"{self.scenario}/render"


@lru_cache(maxsize=8)
def chart_for(chart_dir: Path, values: tuple[str, ...]) -> Chart:
    """The chart under test, loaded once per process."""
    return load_chart(chart_dir, list(values))


def chart_of(settings: Settings) -> Chart:
    """The chart under test of a run."""
    assert settings.chart is not None
    return chart_for(settings.chart.resolve(), settings.values)


def _waivers(chart: Chart) -> tuple[Waiver, ...]:
    return tuple(parse(load_waivers_text(chart.path)))


def helm_lint(chart: Chart, scenario: Scenario, kube_version: str) -> dict[str, tuple[int, str]]:
    """`helm lint --strict` output of every Helm major for one scenario."""
    out = {}
    for helm in HELM_MAJORS:
        args = [helm, "lint", "--strict", str(chart.path), "--kube-version", kube_version]
        for f in scenario.files:
            args += ["--values", str(f)]
        proc = run(args, timeout=TIMEOUTS.helm_lint)
        out[helm] = (proc.returncode, proc.stdout + proc.stderr)
    return out


def lint_cases(settings: Settings) -> list[Case]:
    """Chart-level lint rules once, and helm lint per scenario."""
    chart = chart_of(settings)
    text = (chart.path / "values.yaml").read_text() if (chart.path / "values.yaml").is_file() else ""
    doc = Manifest(chart_document(chart.metadata, chart.defaults, text, chart.schema, chart.schema_error,
                                  load_waivers_text(chart.path), chart_yaml_files(chart.path)), "Chart.yaml")
    waivers = _waivers(chart)
    rules = [r for r in all_rules() if r.family == "lint"]
    today = dt.date.today()
    cases = []
    for r in rules:
        if r.id == "helm-lint":
            for sc in chart.scenarios:
                extras = {"helm_lint": helm_lint(chart, sc, settings.kube_version_full), "today": today}
                cases.append(Case("lint", sc.name, r, doc, Context(settings.kube_version, (), extras), waivers))
        else:
            cases.append(Case("lint", "chart", r, doc, Context(settings.kube_version, (), {"today": today}),
                              waivers))
    return cases


def _kubesec_cached(objects: list[dict[str, Any]], settings: Settings) -> dict[str, tuple[int, list[str]]]:
    cache = settings.reports / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(json.dumps(objects, sort_keys=True, default=str).encode()).hexdigest()[:24]
    path = cache / "kubesec" / f"{digest}-{settings.kube_version}-v3.json"  # v3: every workload scored, Jobs as Pods
    if path.is_file():
        return {k: (int(v[0]), list(v[1])) for k, v in json.loads(path.read_text()).items()}
    result = kubesec.scores(objects, settings.kube_version, cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def cases_for_manifests(
    manifests: list[Manifest], scenario: str, settings: Settings, waivers: tuple[Waiver, ...] = (),
    tier: str = "render", values: dict[str, Any] | None = None, families: tuple[str, ...] = RENDER_FAMILIES,
) -> list[Case]:
    """Every applicable render rule on every object of one render."""
    objects = tuple(m.obj for m in manifests)
    extras: dict[str, Any] = {"kubesec": _kubesec_cached(list(objects), settings)} if "hygiene" in families else {}
    extras["crds"] = load_crds(settings.crds)
    ctx = Context(settings.kube_version, objects, extras)
    rules = [r for r in all_rules() if r.family in families]
    return [Case(tier, scenario, r, m, ctx, waivers, values) for m in manifests for r in rules if r.applies_to(m.obj)]


def render_cases(settings: Settings) -> list[Case | RenderFailure]:
    """Render every scenario with the real helm, then one case per rule x object."""
    chart = chart_of(settings)
    waivers = _waivers(chart)
    out: list[Case | RenderFailure] = []
    for sc in chart.scenarios:
        result = render(chart, sc, settings.kube_version_full)
        if not result.ok:
            out.append(RenderFailure(sc.name, result.error, tuple(str(f) for f in sc.files)))
            continue
        out.extend(cases_for_manifests(result.manifests, sc.name, settings, waivers))
    return out
