"""Test cases of the lint and render tiers: one case per rule x object (x scenario), so every failure shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance import profiles
from conformance.chart import Chart, chart_yaml_files, load_chart, load_crds, load_waivers_text
from conformance.kubesec import Score
from conformance.options import Settings
from conformance.plan import Plan
from conformance.render.manifest import Manifest
from conformance.report import Finding
from conformance.rules import Context, Rule, all_rules
from conformance.rules.immutable import VARIANT, ref
from conformance.rules.lint import chart_document
from conformance.waivers import Waiver, find, parse

RENDER_FAMILIES = ("pss", "labels", "schema", "hygiene", "networking", "availability", "api", "upgrade")


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
                waived=f"{waiver.reason} (until {waiver.expiry})" if waiver else "", extra=dict(v.extra),
            ))
        return out


@dataclass(frozen=True)
class CaseGroup:
    """The cases of one rule in one scenario, run as one pytest test (pytest's per-test cost is ~1-2 ms, the
    render tier has thousands of cases); each case is still reported as its own JUnit case, named by its ID."""

    scenario: str
    rule: Rule
    cases: tuple[Case, ...]

    @property
    def id(self) -> str:
        """The pytest ID: scenario/rule."""
        return f"{self.scenario}/{self.rule.id}"


def grouped(cases: list[Case]) -> list[CaseGroup]:
    """Cases grouped by scenario and rule, in the order they first appear."""
    groups: dict[tuple[str, str], list[Case]] = {}
    for c in cases:
        groups.setdefault((c.scenario, c.rule.id), []).append(c)
    return [CaseGroup(cs[0].scenario, cs[0].rule, tuple(cs)) for cs in groups.values()]


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


def profile_rules(settings: Settings) -> list[Rule]:
    """Every object rule with the severity the run's profile (--profile) gives it."""
    return profiles.apply(all_rules(), settings.profile)


def _waivers(chart: Chart) -> tuple[Waiver, ...]:
    return tuple(parse(load_waivers_text(chart.path)))


def lint_cases(settings: Settings, plan: Plan) -> list[Case]:
    """Chart-level lint rules once, and helm lint per scenario (its output read from the plan)."""
    chart = chart_of(settings)
    text = (chart.path / "values.yaml").read_text() if (chart.path / "values.yaml").is_file() else ""
    doc = Manifest(chart_document(chart.metadata, chart.defaults, text, chart.schema, chart.schema_error,
                                  load_waivers_text(chart.path), chart_yaml_files(chart.path), plan.base), "Chart.yaml")
    waivers = _waivers(chart)
    rules = [r for r in profile_rules(settings) if r.family == "lint"]
    today = dt.date.today()
    cases = []
    for r in rules:
        if r.id == "helm-lint":
            for sc in chart.scenarios:
                extras = {"helm_lint": plan.scenario(sc.name).lint, "today": today}
                cases.append(Case("lint", sc.name, r, doc, Context(settings.kube_version, (), extras), waivers))
        else:
            cases.append(Case("lint", "chart", r, doc, Context(settings.kube_version, (), {"today": today}),
                              waivers))
    return cases


def cases_for_manifests(
    manifests: list[Manifest], scenario: str, settings: Settings, waivers: tuple[Waiver, ...] = (),
    tier: str = "render", values: dict[str, Any] | None = None, families: tuple[str, ...] = RENDER_FAMILIES,
    kubesec: dict[str, Score] | None = None, variant: list[Manifest] | None = None,
) -> list[Case]:
    """Every applicable render rule on every object of one render (`kubesec`: the plan's scores of the render;
    `variant`: the same scenario rendered from the chart's next release, for the immutable-fields rule)."""
    objects = tuple(m.obj for m in manifests)
    extras: dict[str, Any] = {"kubesec": kubesec or {}} if "hygiene" in families else {}
    extras["crds"] = load_crds(settings.crds)
    extras[VARIANT] = {ref(m.obj): m.obj for m in variant or []}
    # Where an object comes from, for fixes that name a values key or a template (image-pinned).
    extras["values"] = chart_of(settings).defaults if settings.chart is not None else {}
    extras["templates"] = {ref(m.obj): m.template for m in manifests}
    ctx = Context(settings.kube_version, objects, extras)
    rules = [r for r in profile_rules(settings) if r.family in families]
    return [Case(tier, scenario, r, m, ctx, waivers, values) for m in manifests for r in rules if r.applies_to(m.obj)]


def render_cases(settings: Settings, plan: Plan) -> list[CaseGroup | RenderFailure]:
    """One case per rule x object of every scenario the plan rendered (with the real helm), grouped per scenario
    and rule, or the scenario's render failure."""
    chart = chart_of(settings)
    waivers = _waivers(chart)
    out: list[CaseGroup | RenderFailure] = []
    for sc in chart.scenarios:
        planned = plan.scenario(sc.name)
        result = planned.render
        if not result.ok:
            out.append(RenderFailure(sc.name, result.error, tuple(str(f) for f in sc.files)))
            continue
        out.extend(grouped(cases_for_manifests(result.manifests, sc.name, settings, waivers, kubesec=planned.kubesec,
                                               variant=planned.variant.manifests if planned.variant.ok else None)))
    return out
