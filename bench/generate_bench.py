"""SC-010: `floe helm generate` must take under 10 seconds; the goal is well under one.

Measures, in one run: the whole command as a user runs it (a fresh process: Python start, imports, artifact
load and validation, plugin values, merge, chart-schema validation, YAML), the same work in process, and a
baseline on the same machine at the same moment: `helm show values` of the same chart, the cheapest thing the
pinned helm does with it. Last line:
`generate: CLI median X s (max Y s, CPU C s) per environment, in-process Z ms; SC-010 budget 10 s;
baseline helm show values B s; ratio R`.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

from conformance import REPO_ROOT
from conformance.tools import tool_path
from floe.artifacts import load_artifacts
from floe.generate import CHART_NAMES, chart_dir, generate, load_cluster_mapping

SAMPLE = REPO_ROOT / "fixtures" / "artifacts" / "compiled_artifacts.json"
ENVS = ("dev", "qa", "uat", "staging", "prod")
SC010_BUDGET = 10.0


CPU: list[float] = []


def timed(cmd: list[str]) -> float:
    """Wall time of one command that must succeed (its CPU time goes to `CPU`: the machine may be shared)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def main() -> int:
    """Run the benchmark and print the figures; exit 1 if any environment misses SC-010."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3, help="CLI runs per environment (default 3)")
    ap.add_argument("--inprocess", type=int, default=50, help="in-process generations per environment (default 50)")
    args = ap.parse_args()
    floe = [sys.executable, "-m", "floe.cli", "helm", "generate", "--artifact", str(SAMPLE), "-o", "/dev/null"]
    cli = {env: [timed([*floe, "--env", env]) for _ in range(args.rounds)] for env in ENVS}
    cli_cpu = statistics.median(CPU)
    helm = [timed([tool_path("helm"), "show", "values", str(chart_dir("floe-platform"))]) for _ in range(args.rounds)]

    mapping = load_cluster_mapping(None)
    start = time.perf_counter()
    for _ in range(args.inprocess):
        loaded = load_artifacts(str(SAMPLE))
        for env in ENVS:
            for chart in CHART_NAMES:
                generate(loaded, env, mapping, chart_dir(chart))
    per = (time.perf_counter() - start) / (args.inprocess * len(ENVS) * len(CHART_NAMES))

    for env, times in cli.items():
        print(f"  {env:8} CLI runs: {', '.join(f'{t:.2f}s' for t in times)}")
    every = [t for times in cli.values() for t in times]
    median, worst, base = statistics.median(every), max(every), statistics.median(helm)
    print(f"generate: CLI median {median:.2f} s (max {worst:.2f} s, CPU {cli_cpu:.2f} s) per environment, "
          f"in-process {per * 1000:.1f} ms; "
          f"SC-010 budget {SC010_BUDGET:g} s; baseline helm show values {base:.2f} s; ratio {median / base:.2f}")
    return 0 if worst < SC010_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
