"""`conformance gate` and `conformance release`: the release decision, and the push that only follows it."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from conformance import sources
from conformance.chart import load_chart
from conformance.errors import EXIT_FINDINGS, EXIT_OK
from conformance.gate import gate
from conformance.release import registry_host, release
from conformance.results import read_reports


def add_parsers(sub: Any) -> None:
    """The `gate` and `release` sub-commands and their arguments."""
    g = sub.add_parser("gate", help="the release decision over a reports folder: exit 0 release, 1 do not, "
                       "2 reports missing or unreadable")
    r = sub.add_parser("release", help="package charts and push them to an OCI registry, only when the gate "
                       "passes; tag <chart>-<version>")
    r.add_argument("chart", nargs="+", help="chart folder or folder of charts")
    r.add_argument("--to", required=True, help="oci://HOST[:PORT]/REPOSITORY to push to (credentials: "
                   "CONFORMANCE_REGISTRY_USERNAME and CONFORMANCE_REGISTRY_PASSWORD)")
    r.add_argument("--tag", action="store_true", help="create the git tag <chart>-<version> for each chart")
    for cmd in (g, r):
        cmd.add_argument("--reports", type=Path, default=Path("reports"), help="reports folder (one chart or many)")
        cmd.add_argument("--policy", type=Path, help="policy YAML (default: every tier that ran passed, no unwaived "
                         "error, every timing within budget, tiers lint,render,fuzz,cluster present)")
        cmd.add_argument("--require", help="comma-separated tiers each chart must have run, or `planned` for the "
                         "tiers `conformance check` planned for it (overrides the policy's `require`)")


def gate_command(args: argparse.Namespace) -> int:
    """`conformance gate`: one line per broken condition, then the verdict; exit 0 release, 1 do not."""
    verdict = gate(args.reports, args.policy, args.require)
    for line in verdict.broken:
        print(f"gate: {line}")
    if verdict.passed:
        print(f"gate: PASS: the policy holds for {verdict.summary}")
        return EXIT_OK
    print(f"gate: FAIL: {len(verdict.broken)} condition{'s' if len(verdict.broken) != 1 else ''} broken for "
          f"{verdict.summary}")
    return EXIT_FINDINGS


def release_command(args: argparse.Namespace) -> int:
    """`conformance release`: the gate first; only when it passes, package, push and tag every chart."""
    registry_host(args.to)  # a bad target is a usage error before anything runs
    with tempfile.TemporaryDirectory(prefix="conformance-release-") as tmp:
        charts = [s.path for s in sources.expand(args.chart, None, Path(tmp))]
        judged = {c.name for c in read_reports(args.reports)}
        unjudged = [c for c in charts if load_chart(c).name not in judged]
        for c in unjudged:
            print(f"release: {c}: no reports for it in {args.reports}; run `conformance check {c} --reports "
                  f"{args.reports}` first")
        if gate_command(args) != EXIT_OK or unjudged:
            print(f"release: nothing pushed to {args.to}: the gate did not pass")
            return EXIT_FINDINGS
        pushed, skipped = release(charts, args.to, args.tag)
        for line in skipped:
            print(f"release: not pushed: {line}")
        for r in pushed:
            print(f"release: pushed {r.ref}" + (f", tagged {r.tag}" if r.tag else ""))
    return EXIT_OK
