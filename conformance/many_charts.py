"""Checking several charts in one `conformance check`: which charts (folders, packages, oci://, changed since a
ref), a reports folder each, stale folders of earlier runs removed, `--jobs` charts at a time, the worst exit."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conformance import sources
from conformance.errors import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from conformance.options import BY_NAME, OPTIONS, Settings
from conformance.results import PLAN
from conformance.sources import ChartSource


def select(args: list[str], version: str | None, settings: Settings) -> tuple[list[ChartSource], bool]:
    """The charts the arguments name (with --changed-since, only those changed; says which it left out), and
    whether there are several (then each gets its own reports folder, even when only one changed)."""
    charts = sources.expand(args, version, (settings.reports / ".cache" / "charts").resolve())
    many = len(charts) > 1
    ref = settings.changed_since
    if ref:
        changed = [c for c in charts if sources.changed(c.path, ref)]
        for c in charts:
            print(f"conformance: {c.given}: " + (f"changed since {ref}" if c in changed else
                                                 f"unchanged since {ref} (not checked)"))
        charts = changed
    return charts, many


def prepare(root: Path, charts: list[ChartSource], many: bool) -> dict[ChartSource, Path]:
    """Each chart's reports folder: `root` for one chart; `<root>/<chart folder name>` (`-2`... on a clash) for
    several, after removing what an earlier run left that this one will not rewrite."""
    if not many:
        return {c: root for c in charts}
    out: dict[ChartSource, Path] = {}
    for c in charts:
        folder, n = root / c.path.name, 1
        while folder in out.values():
            n += 1
            folder = root / f"{c.path.name}-{n}"
        out[c] = folder
    if root.is_dir():
        for plan in root.glob(f"*/{PLAN}"):  # chart folders of an earlier run (ours: they hold a plan.json)
            if plan.parent not in out.values():
                shutil.rmtree(plan.parent)
        for stale in [*root.glob("junit-*.xml"), root / PLAN]:  # one chart's reports written straight into root
            stale.unlink(missing_ok=True)
    return out


def option_args(args: argparse.Namespace, skip: tuple[str, ...]) -> list[str]:
    """The options-table flags given on this command line, to hand on to pytest or to a child `check`."""
    out = []
    for o in OPTIONS:
        value = getattr(args, o.name, None)
        if o.name in skip or value in (None, []):
            continue
        for v in value if isinstance(value, list) else [value]:
            out += [BY_NAME[o.name].flag, str(v)]
    return out


def child_command(chart: ChartSource, folder: Path, args: argparse.Namespace) -> list[str]:
    """`conformance check` of one chart into its own folder, with this command line's options."""
    cmd = [sys.executable, "-m", "conformance.cli", "check", str(chart.path), "--reports", str(folder), "--tier",
           args.tier, "-n", str(args.workers), *option_args(args, ("chart", "reports"))]
    for extra in args.pytest_arg:
        cmd += ["--pytest-arg", extra]
    return cmd


def check_parallel(charts: list[ChartSource], folders: dict[ChartSource, Path], args: argparse.Namespace) -> list[int]:
    """Check `--jobs` charts at a time, each in a child `conformance check` whose output goes to
    `<folder>/console.log` and is printed, in chart order, when it ends. Their exit codes."""
    def one(chart: ChartSource) -> int:
        folders[chart].mkdir(parents=True, exist_ok=True)
        with (folders[chart] / "console.log").open("w") as out:
            return subprocess.run(child_command(chart, folders[chart], args), stdout=out, stderr=subprocess.STDOUT,
                                  check=False).returncode

    codes = []
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for chart, code in zip(charts, pool.map(one, charts), strict=True):
                print((folders[chart] / "console.log").read_text(errors="replace"), end="", flush=True)
                codes.append(code)
    except KeyboardInterrupt:  # the children got the same SIGINT and write their own reports
        codes.append(EXIT_INTERRUPTED)
    return codes


def worst(codes: list[int]) -> int:
    """The exit code of several checks: interrupted, then usage, then findings, else OK."""
    return next((c for c in (EXIT_INTERRUPTED, EXIT_USAGE, EXIT_FINDINGS) if c in codes), EXIT_OK)
