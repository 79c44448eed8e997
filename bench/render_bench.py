"""Render benchmarks on floe-platform, equal work on both sides:

1. The render tier (`conformance check --tier render`, fresh reports folder) against the peer stack platform
   engineers use for the same job on the same scenarios (`helm template` per scenario, then kubeconform
   -strict and kube-score on its output, all pinned in tools/), alternating over --runs runs; medians.
2. 1,000 full fuzz examples (generate, render, every rule but kubesec).
3. Render throughput of the persistent engine (tools/helmrender) against `helm template --values -` per example,
   one render at a time on each side: the same fuzzed values through the same path (Helm's own values.schema.json
   validation on both sides: the CLI compiles the schema on every call, the engine once per chart with the same
   library and options; Helm renders; the same `result_from_output` parses the output), after a warm-up, the
   two sides taking turns by blocks of examples.

Last two lines: `render tier: conformance N s, peer stack M s, ratio R` (R = conformance / peer; at most 1 is
no slower) and `render throughput: in-process N/s, helm CLI M/s, ratio R`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from conformance import REPO_ROOT
from conformance.cases import chart_for
from conformance.fuzz.profiles import CI_SEED
from conformance.fuzz.properties import check_conformant, check_renders
from conformance.fuzz.strategies import Example, valid_values
from conformance.fuzz.target import make_target
from conformance.kubesec import standalone_schemas
from conformance.options import resolve
from conformance.render.helm_cli import render, template_args
from conformance.render.inprocess import engine
from conformance.render.manifest import RenderResult, forget_parsed, result_from_output
from conformance.timeouts import TIMEOUTS
from conformance.tools import tool_path
from conformance.values import Values

CHART = REPO_ROOT / "charts" / "floe-platform"
KUBE = "1.35.0"


def examples(chart: Path, count: int) -> list[Example]:
    """`count` schema-valid fuzzed examples of a chart (fixed seed, no database)."""
    loaded = chart_for(chart.resolve(), ())
    out: list[Example] = []

    @seed(CI_SEED)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(valid_values(loaded.schema or {}, loaded.defaults))
    def collect(example: Example) -> None:
        out.append(example)

    collect()
    return out[:count]


def render_engine(chart: Path, values: Values) -> RenderResult:
    """The persistent engine, Helm's schema validation on."""
    answer = engine(chart, KUBE).ask(values, True, TIMEOUTS.fuzz_example)
    return RenderResult(error=str(answer["error"])) if answer.get("error") else \
        result_from_output(str(answer.get("manifest", "")))


def render_cli(chart: Path, values: Values) -> RenderResult:
    """`helm template --values -`, Helm's schema validation on."""
    args = [tool_path("helm"), *template_args(chart, (Path("-"),), KUBE)]
    proc = subprocess.run(args, input=json.dumps(values), capture_output=True, text=True,
                          timeout=TIMEOUTS.helm_template, check=False)
    return RenderResult(error=proc.stderr) if proc.returncode else result_from_output(proc.stdout)


def rates(chart: Path, values: list[Example], warmup: int, block: int = 10) -> tuple[float, float]:
    """Renders per second (in-process, helm CLI) over the examples, each validated by Helm against
    values.schema.json, rendered and its output parsed, after `warmup` untimed renders on each side. The two
    sides take turns over blocks of `block` examples, and which goes first alternates, so a change of load on
    this shared machine hits both alike, and each reads documents the other parsed as often as the other does.
    Every render must succeed."""
    forget_parsed()
    sides: list[Callable[[Path, Values], RenderResult]] = [render_engine, render_cli]
    for side_render in sides:
        for e in values[:warmup]:
            side_render(chart, e.minimal)
    spent = [0.0, 0.0]
    for turn, first in enumerate(range(0, len(values), block)):
        for side in (0, 1) if turn % 2 == 0 else (1, 0):
            start = time.perf_counter()
            for e in values[first:first + block]:
                result = sides[side](chart, e.minimal)
                if not result.ok:
                    raise SystemExit(f"bench: render failed: {result.error[:300]}")
            spent[side] += time.perf_counter() - start
    return len(values) / spent[0], len(values) / spent[1]


def full_examples(chart: Path, count: int, reports: Path, workers: int = 1, seed_: int = CI_SEED) -> float:
    """Seconds for `count` full fuzz examples: generate, render (validated by jsonschema), check every rule.

    `workers` > 1 splits them over that many processes (as fuzz properties over xdist workers), each its own
    search (seed CI_SEED + i) and render engine, timed from before the processes start until the last ends.
    """
    if workers > 1:
        shares = [(chart, count // workers + (i < count % workers), reports / f"w{i}", 1, CI_SEED + i)
                  for i in range(workers)]
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.starmap(full_examples, shares)
        return time.perf_counter() - start
    settings_ = resolve({"chart": str(chart), "reports": str(reports)})
    target = make_target(chart_for(chart.resolve(), ()), settings_)
    start = time.perf_counter()

    @seed(seed_)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(valid_values(target.schema, target.defaults))
    def run(example: Example) -> None:
        result = target.render_valid(example.minimal)
        check_renders(target, example, result)
        check_conformant(target, example, result)

    run()
    return time.perf_counter() - start


def conformance_render_tier(chart: Path, workers: str) -> float:
    """Seconds of `conformance check CHART --tier render` on a fresh reports folder."""
    reports = Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "conformance.cli", "check", str(chart), "--tier", "render",
                               "--reports", str(reports), "-n", workers], capture_output=True, text=True,
                              check=False)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(reports, ignore_errors=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"conformance check failed (exit {proc.returncode}): {proc.stderr[-500:]}")
    return seconds


def schema_names(chart: Path) -> set[str]:
    """kubeconform's schema file names (kind, group, version) of every object the chart renders in any scenario."""
    loaded = chart_for(chart.resolve(), ())
    out = set()
    for sc in loaded.scenarios:
        for m in render(loaded, sc, KUBE).manifests:
            group, _, version = str(m.obj.get("apiVersion", "")).rpartition("/")
            out.add("-".join(p for p in (m.kind.lower(), group.split(".")[0], version) if p))
    return out


def peer_stack(chart: Path, schemas: Path) -> float:
    """Seconds of the peer stack on every scenario: `helm template`, then kubeconform -strict and kube-score."""
    loaded = chart_for(chart.resolve(), ())
    location = str(schemas) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    start = time.perf_counter()
    for sc in loaded.scenarios:
        rendered = subprocess.run([tool_path("helm"), *template_args(chart, sc.files, KUBE)], capture_output=True,
                                  text=True, check=True).stdout
        subprocess.run([tool_path("kubeconform"), "-strict", "-summary", "-schema-location", location, "-"],
                       input=rendered, capture_output=True, text=True, check=False)
        subprocess.run([tool_path("kube-score"), "score", "-"], input=rendered, capture_output=True, text=True,
                       check=False)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the figures, the two summary lines last."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chart", type=Path, default=CHART)
    parser.add_argument("--examples", type=int, default=200, help="fuzzed values rendered by each backend")
    parser.add_argument("--warmup", type=int, default=5, help="untimed renders per backend first")
    parser.add_argument("--full", type=int, default=1000, help="full fuzz examples to time (0 skips)")
    parser.add_argument("--full-workers", type=int, default=os.cpu_count() or 1,
                        help="processes the full fuzz examples are split over (default: the CPUs; the goal is 1,000 "
                             "examples in under 30 s on 2 cores)")
    parser.add_argument("--runs", type=int, default=3, help="alternating render tier / peer stack runs (0 skips)")
    parser.add_argument("--workers", default="0", help="xdist workers of the render tier run (0: none, faster here)")
    parser.add_argument("--reports", type=Path, default=Path("reports/bench"))
    args = parser.parse_args(argv)
    chart = args.chart.resolve()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    tier = peer = 0.0
    if args.runs:
        schemas = standalone_schemas(KUBE, args.reports.resolve() / ".cache", schema_names(chart))
        tiers, peers = [], []
        for i in range(args.runs):
            tiers.append(conformance_render_tier(chart, args.workers))
            peers.append(peer_stack(chart, schemas))
            print(f"run {i + 1}: render tier {tiers[-1]:.1f}s, peer stack {peers[-1]:.1f}s")
        tier, peer = statistics.median(tiers), statistics.median(peers)
    if args.full:
        seconds = full_examples(chart, args.full, args.reports, args.full_workers)
        print(f"{args.full} full fuzz examples (generate + render + every rule but kubesec), "
              f"{max(1, args.full_workers)} process(es): {seconds:.1f}s")
    start = time.perf_counter()
    values = examples(chart, args.examples)
    print(f"generated {len(values)} schema-valid values in {time.perf_counter() - start:.1f}s")
    fast, cli = rates(chart, values, args.warmup)
    print(f"throughput, {len(values)} examples each after {args.warmup} untimed, one at a time, the sides taking "
          "turns by blocks of 10, Helm's schema validation and the same output parser on both: in-process = one "
          "helmrender process (chart loaded, templates parsed and schemas compiled once), helm CLI = one "
          "`helm template --values -` per example")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.runs:
        print(f"render tier: conformance {tier:.1f} s, peer stack {peer:.1f} s, ratio {tier / peer:.2f}")
    print(f"render throughput: in-process {fast:.0f}/s, helm CLI {cli:.1f}/s, ratio {fast / cli:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
