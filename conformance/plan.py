"""The plan of a run: every tool result the lint and render tiers need, computed once before tests are collected.

The controller (the pytest process the CLI starts, or the xdist master) builds the plan: it renders every
scenario with Helm's own engine (the persistent `helmrender`, byte-identical to `helm template`; a scenario
that fails to render is rendered again by `helm template` so its finding quotes the CLI), runs
`helm lint --strict` on every Helm major per scenario, and scores every distinct workload with one
`kubesecscan` run. It writes the plan to `<reports>/.cache/plan/` (temporary
name, then rename) and hands its path to the xdist workers, which only read it: no tool runs twice for the same
chart x scenario, however many workers collect the tests.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from conformance import kubesec
from conformance.cache import read_json, write_json
from conformance.chart import Chart, Scenario
from conformance.kubesec import Score
from conformance.options import Settings
from conformance.render import inprocess
from conformance.render.helm_cli import render
from conformance.render.manifest import Manifest, RenderResult
from conformance.render.variant import variant_of
from conformance.rules.immutable import IMMUTABLE
from conformance.sources import base_chart
from conformance.timeouts import TIMEOUTS
from conformance.tools import run, tool_path

#: Tiers whose tool results are planned (fuzz renders in process, cluster and e2e talk to a cluster).
PLANNED_TIERS = ("lint", "render")
HELM_MAJORS = ("helm", "helm3")
#: The tools whose builds the render tier's plan depends on.
RENDER_TOOLS = ["helmrender", "kubesecscan"]
#: Bumped when the plan file's layout changes, so an old plan is never read.
FORMAT = 2
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ScenarioPlan:
    """One scenario's tool results: its render, `helm lint` per Helm major, kubesec score per workload."""

    name: str
    render: RenderResult
    lint: dict[str, tuple[int, str]] = field(default_factory=dict)
    kubesec: dict[str, Score] = field(default_factory=dict)
    #: the same scenario rendered from the chart's next release (render/variant.py), for immutable-fields-stable
    variant: RenderResult = field(default_factory=RenderResult)


@dataclass(frozen=True)
class Plan:
    """The tool results of every scenario of a chart for the planned tiers."""

    tiers: tuple[str, ...]
    scenarios: dict[str, ScenarioPlan]
    #: With --changed-since: the chart at the merge-base (ref, changed, version) for chart-version-bump.
    base: dict[str, Any] | None = None

    def scenario(self, name: str) -> ScenarioPlan:
        """The plan of one scenario."""
        return self.scenarios[name]


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


def parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`fn` over `items` on a few threads (each call waits on a tool process), results in order."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(fn, items))


def plan_key(chart: Chart, settings: Settings, tiers: tuple[str, ...]) -> str:
    """What the plan depends on: the chart's files, the scenarios' values files, the version, the tools."""
    h = hashlib.sha256(f"{FORMAT}|{chart.digest}|{settings.kube_version}|{','.join(tiers)}|"
                       f"{settings.changed_since or ''}".encode())
    for sc in chart.scenarios:
        h.update(sc.name.encode())
        for f in sc.files:
            h.update(f.read_bytes())
    tools = ["helm"] + (["helm3"] if "lint" in tiers else []) + (RENDER_TOOLS if "render" in tiers else [])
    for tool in tools:
        path = tool_path(tool)
        h.update(f"{tool}={path}@{os.path.getmtime(path)}".encode())
    return h.hexdigest()[:24]


def build(chart: Chart, settings: Settings, tiers: tuple[str, ...]) -> Plan:
    """Run every tool once per scenario: `helm lint` processes on a few threads; in this thread, every scenario
    through the chart's engine and the varied copy's, both pipelined (each scenario's workloads fed to one
    kubesecscan run, which scores them in its own process meanwhile), then kubesec's scores. Renders stay on one
    thread: engine answers read on a second Python thread wait for the interpreter lock behind the parsing."""
    kube = settings.kube_version_full
    empty = [RenderResult() for _ in chart.scenarios]
    with ThreadPoolExecutor(max_workers=1) as pool:
        lints_f = pool.submit(lambda: parallel(lambda sc: helm_lint(chart, sc, kube), chart.scenarios)) \
            if "lint" in tiers else None
        renders, variants, scores = _render_and_score(chart, settings) if "render" in tiers else \
            (empty, empty, [{} for _ in chart.scenarios])
        lints = lints_f.result() if lints_f else [{} for _ in chart.scenarios]
    base = base_chart(chart.path, settings.changed_since) if settings.changed_since and "lint" in tiers else None
    return Plan(tiers, {sc.name: ScenarioPlan(sc.name, r, lint, s, v) for sc, r, lint, s, v
                        in zip(chart.scenarios, renders, lints, scores, variants, strict=True)}, base)


def _cache(settings: Settings) -> Path:
    """The run's cache folder (created)."""
    cache = settings.reports / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def _render_and_score(chart: Chart, settings: Settings) \
        -> tuple[list[RenderResult], list[RenderResult], list[dict[str, Score]]]:
    """Every scenario's render, its render from the chart's varied next release (only the workloads whose
    immutable fields are compared are read), and kubesec's score of each of its workloads keyed by `Kind/name`:
    the workloads go to one kubesecscan run as each scenario renders, so scoring overlaps rendering."""
    kube = settings.kube_version_full
    scoring = kubesec.Scoring(settings.kube_version, _cache(settings))
    varied = variant_of(chart)
    files = [sc.files for sc in chart.scenarios]
    # Both engines render ahead (pipelined) while this thread parses: two Go processes, one Python thread.
    pairs = zip(chart.scenarios, inprocess.render_scenarios(chart.path, files, kube),
                inprocess.render_scenarios(varied.path, files, kube, kinds=frozenset(IMMUTABLE)), strict=True)
    renders, variants, keys = [], [], []
    for sc, result, variant in pairs:
        # a failed render is rendered again by `helm template`, so the finding quotes the reference CLI's error
        renders.append(result if result.ok else render(chart, sc, kube))
        variants.append(variant)  # its error is never shown: the rule only reads a variant that rendered
        keys.append(scoring.add([m.obj for m in renders[-1].manifests]))
    known = scoring.finish()
    scores = [{kubesec.ref(m.obj): known[k] for m, k in zip(r.manifests, ks, strict=True) if k}
              for r, ks in zip(renders, keys, strict=True)]
    return renders, variants, scores


def to_json(plan: Plan) -> dict[str, Any]:
    """The plan as JSON data."""
    return {"format": FORMAT, "tiers": list(plan.tiers), "base": plan.base, "scenarios": [
        {"name": sp.name, "error": sp.render.error,
         "manifests": [{"obj": m.obj, "template": m.template} for m in sp.render.manifests],
         "lint": sp.lint, "kubesec": sp.kubesec, "variant": {
             "error": sp.variant.error,
             "manifests": [{"obj": m.obj, "template": m.template} for m in sp.variant.manifests]}}
        for sp in plan.scenarios.values()]}


def from_json(data: dict[str, Any]) -> Plan:
    """A plan read back from JSON data."""
    scenarios = {}
    for s in data["scenarios"]:
        result = RenderResult([Manifest(m["obj"], m["template"]) for m in s["manifests"]], s["error"])
        lint = {k: (int(v[0]), str(v[1])) for k, v in s["lint"].items()}
        scores = {k: (int(v[0]), list(v[1])) for k, v in s["kubesec"].items()}
        v = s["variant"]
        variant = RenderResult([Manifest(m["obj"], m["template"]) for m in v["manifests"]], v["error"])
        scenarios[s["name"]] = ScenarioPlan(s["name"], result, lint, scores, variant)
    return Plan(tuple(data["tiers"]), scenarios, data.get("base"))


def plan_path(settings: Settings, key: str) -> Path:
    """Where the plan of a key is kept."""
    return settings.reports / ".cache" / "plan" / f"{key}.json"


def ensure(chart: Chart, settings: Settings, tiers: Iterable[str]) -> Path:
    """The path of the plan for these tiers, built and written atomically unless a run already wrote it."""
    wanted = tuple(t for t in PLANNED_TIERS if t in set(tiers))
    path = plan_path(settings, plan_key(chart, settings, wanted))
    if not path.is_file():
        write_json(path, to_json(build(chart, settings, wanted)))
    return path


@lru_cache(maxsize=4)
def load(path: Path) -> Plan:
    """Read a plan file."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FileNotFoundError(f"{path}: no plan of format {FORMAT}")
    return from_json(data)


def planned_tiers(args: Iterable[str], suites: Path) -> tuple[str, ...]:
    """The planned tiers whose suites a pytest invocation's arguments select (a folder above them selects all)."""
    out = []
    for arg in args:
        path = Path(arg.split("::")[0]).resolve()
        for tier in PLANNED_TIERS:
            folder = (suites / tier).resolve()
            if path == folder or folder in path.parents or path in folder.parents:
                out.append(tier)
    return tuple(t for t in PLANNED_TIERS if t in out)
