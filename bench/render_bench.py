"""Render throughput of the in-process backend against the helm CLI on floe-platform with fuzzed values,
and the time of 1,000 full fuzz examples (generate, render, check). Last line:
`render throughput: in-process N/s, helm CLI M/s, ratio R`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from conformance import REPO_ROOT
from conformance.cases import chart_for
from conformance.fuzz.backend import render_cli
from conformance.fuzz.profiles import CI_SEED
from conformance.fuzz.properties import check_conformant, check_renders
from conformance.fuzz.schema import first_error
from conformance.fuzz.strategies import Example, valid_values
from conformance.fuzz.target import make_target
from conformance.options import resolve
from conformance.render.inprocess import render_map
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


def rate(render: Callable[[Values], object], values: list[Values]) -> float:
    """Renders per second over the values."""
    start = time.perf_counter()
    for v in values:
        render(v)
    return len(values) / (time.perf_counter() - start)


def cli_text(chart: Path, values: Values) -> None:
    """One `helm template` run (the output text, like `render_map`, parsed by neither)."""
    render_cli(chart, values, KUBE)


def full_examples(chart: Path, count: int, reports: Path) -> float:
    """Seconds for `count` full fuzz examples: generate, render (validated by jsonschema), check every rule."""
    settings_ = resolve({"chart": str(chart), "reports": str(reports)})
    target = make_target(chart_for(chart.resolve(), ()), settings_)
    start = time.perf_counter()

    @seed(CI_SEED)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(valid_values(target.schema, target.defaults))
    def run(example: Example) -> None:
        result = target.render_valid(example.minimal)
        check_renders(target, example, result)
        check_conformant(target, example, result)

    run()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures, the throughput line last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chart", type=Path, default=CHART)
    parser.add_argument("--examples", type=int, default=200, help="fuzzed values rendered in process")
    parser.add_argument("--cli-examples", type=int, default=40, help="of those, rendered with the helm CLI")
    parser.add_argument("--full", type=int, default=1000, help="full fuzz examples to time (0 skips)")
    parser.add_argument("--reports", type=Path, default=Path("reports/bench"))
    args = parser.parse_args(argv)
    chart, schema = args.chart.resolve(), chart_for(args.chart.resolve(), ()).schema or {}
    start = time.perf_counter()
    values = [e.minimal for e in examples(chart, args.examples)]
    print(f"generated {len(values)} schema-valid values in {time.perf_counter() - start:.1f}s")
    render_map(chart, {}, KUBE)  # load and warm
    render_map(chart, {}, KUBE, validate=False)
    validated = rate(lambda v: render_map(chart, v, KUBE), values)
    fuzz_path = rate(lambda v: (first_error(schema, v), render_map(chart, v, KUBE, validate=False)), values)
    cli = rate(lambda v: cli_text(chart, v), values[: args.cli_examples])
    print(f"in-process, Helm validates the schema: {validated:.0f}/s")
    print(f"in-process, fuzzer path (jsonschema validates, Helm renders): {fuzz_path:.0f}/s")
    print(f"helm CLI (helm template per example): {cli:.1f}/s over {min(len(values), args.cli_examples)} values")
    if args.full:
        seconds = full_examples(chart, args.full, args.reports)
        print(f"{args.full} full fuzz examples (generate + render + every rule but kubesec): {seconds:.1f}s")
    print(f"render throughput: in-process {fuzz_path:.0f}/s, helm CLI {cli:.1f}/s, ratio {fuzz_path / cli:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
