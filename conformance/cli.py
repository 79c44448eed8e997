"""The `conformance` command: check a chart through the suites, list rules, regenerate values docs."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import REPO_ROOT, __version__, gatecmd, many_charts
from conformance.chart import Chart, load_chart
from conformance.errors import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ConformanceError, UsageError
from conformance.merged import write_merged
from conformance.options import OPTIONS, TIERS, Settings, resolve
from conformance.profiles import PROFILES
from conformance.results import FINDINGS, PLAN, TIMINGS
from conformance.sources import ChartSource
from conformance.summary import console, dedupe
from conformance.timeouts import TIMEOUTS
from conformance.tools import helm_version, tool_path

SUITES = REPO_ROOT / "suites"
#: Tiers that run in this version, and why the others cannot.
AVAILABLE = TIERS
UNAVAILABLE: dict[str, str] = {}
#: Tools each tier needs, checked before pytest starts so a missing one is one line, exit 2.
NEEDS = {"lint": ("helm", "helm3"), "render": ("helm", "helmrender", "kubesecscan"), "fuzz": ("helm", "helmrender")}
#: Tools each cluster provider needs.
PROVIDER_TOOLS = {
    "kwok": ("helm", "kubectl", "kwokctl", "kwok", "etcd", "kube-apiserver", "kube-controller-manager",
             "kube-scheduler"),
    "kind": ("helm", "kubectl", "kind"),
    "kubeconfig": ("helm", "kubectl"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="conformance", description="Helm chart conformance: lint, render rules, "
                                "values fuzzing, cluster flows; JUnit and findings.json reports.")
    p.add_argument("--version", action="version", version=f"conformance {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run the conformance tiers on one chart or many")
    check.add_argument("chart", nargs="+", help="chart directory, folder of charts, packaged chart (.tgz) or "
                       "oci://HOST/REPO/CHART reference (with --version); several may be given")
    check.add_argument("--version", dest="chart_version", help="chart version to pull for an oci:// reference")
    check.add_argument("--tier", default="lint,render,fuzz",
                       help=f"comma-separated tiers from {','.join(TIERS)}, or all (default lint,render,fuzz; "
                       "cluster and e2e need a cluster: kwok here, Kind, or --kubeconfig)")
    for o in OPTIONS:
        if o.name == "chart":
            continue
        kwargs: dict[str, object] = {"action": "append"} if o.multiple else {}
        check.add_argument(o.flag, dest=o.name, default=None, help=f"{o.help} [env {o.env}]", **kwargs)  # type: ignore[arg-type]
    check.add_argument("-n", "--workers", default="0", help="pytest-xdist workers (auto, or a number; 0 = none)")
    check.add_argument("--jobs", type=int, default=1, help="charts checked at the same time (each its own pytest "
                       "session with -n workers; its output is shown when it ends); default 1")
    check.add_argument("--pytest-arg", action="append", default=[], help="extra argument passed to pytest")
    rules = sub.add_parser("rules", help="list every rule with its ID, family, severity and doc")
    rules.add_argument("--profile", help=f"severities under this profile ({', '.join(PROFILES)}; default: the "
                       "resolved --profile option)")
    gatecmd.add_parsers(sub)
    docs = sub.add_parser("docs", help="regenerate a chart's README values table from values.yaml")
    docs.add_argument("chart", type=Path)
    docs.add_argument("--check", action="store_true", help="only check it is up to date (exit 1 if not)")
    cluster = sub.add_parser("cluster", help="create or delete a hermetic cluster to deploy into")
    csub = cluster.add_subparsers(dest="cluster_command", required=True)
    create = csub.add_parser("create", help="create a cluster and leave it running")
    create.add_argument("--provider", required=True, choices=("kwok", "kind"))
    create.add_argument("--name", required=True)
    create.add_argument("--kubeconfig-out", required=True, type=Path, help="where to write its kubeconfig")
    delete = csub.add_parser("delete", help="delete a cluster made by `cluster create`")
    delete.add_argument("--name", required=True)
    delete.add_argument("--provider", choices=("kwok", "kind"), help="only this provider's cluster of that name")
    return p


def select_tiers(spec: str) -> tuple[list[str], dict[str, str]]:
    """Tiers to run and tiers left out with the reason; UsageError for unknown or unavailable tiers."""
    names = list(TIERS) if spec.strip() == "all" else [t.strip() for t in spec.split(",") if t.strip()]
    unknown = [t for t in names if t not in TIERS]
    if unknown or not names:
        raise UsageError(f"--tier {spec}: unknown tier {', '.join(unknown) or '(none)'}; use {','.join(TIERS)} or all")
    if spec.strip() != "all":
        asked = [t for t in names if t in UNAVAILABLE]
        if asked:
            raise UsageError(f"--tier {asked[0]}: {UNAVAILABLE[asked[0]]}; run --tier lint,render,fuzz")
    run = [t for t in TIERS if t in names and t in AVAILABLE]
    left = {t: UNAVAILABLE.get(t, "not asked for (--tier)") for t in TIERS if t not in run}
    return run, left


def preflight(chart: Chart, settings: Settings, tiers: list[str], left: dict[str, str]) -> list[str]:
    """Check tools and inputs before starting; move tiers that cannot run to `left` with the reason."""
    for tier in tiers:
        for tool in NEEDS.get(tier, ()):
            tool_path(tool)
    if "fuzz" in tiers and chart.schema is None:
        left["fuzz"] = "the chart has no usable values.schema.json to fuzz from (the lint tier reports it)"
        tiers = [t for t in tiers if t != "fuzz"]
    from conformance.flows.jobs import launchable_jobs  # noqa: PLC0415 (imports the kubernetes client: e2e only)

    if "e2e" in tiers and not launchable_jobs(chart, settings.kube_version_full):
        left["e2e"] = "the chart renders no Job or CronJob, so there is no job launch (SC-002) to time"
        tiers = [t for t in tiers if t != "e2e"]
    return tiers


def announce_cluster(chart: Chart, settings: Settings, tiers: list[str]) -> str:
    """Resolve the provider once (the fixtures get the resolved name), check its tools and say it up front,
    with what it only simulates; for the cluster tier, the previous release and the scenarios installed."""
    from conformance.cluster.provider import resolve_provider  # noqa: PLC0415 (only for cluster tiers)
    from conformance.clusterfixtures import cluster_scenarios  # noqa: PLC0415
    from conformance.flows.previous import resolve_previous  # noqa: PLC0415

    choice = resolve_provider(settings.provider, settings.kubeconfig, settings.kube_context)
    for tool in PROVIDER_TOOLS[choice.name]:
        tool_path(tool)
    print(f"conformance: cluster provider {choice.name}: {choice.why}")
    if choice.simulated:
        print(f"conformance: simulated on {choice.name}: {choice.simulated}; those results are marked "
              "simulated=true, not plain passes")
    if "cluster" in tiers:
        previous = resolve_previous(chart, settings.upgrade_from, settings.reports / ".cache" / "previous")
        print(f"conformance: upgrade from {chart.name} {previous.version}: {previous.how}"
              + (f" [{previous.breaking}: a failed upgrade is a warning]" if previous.breaking else ""))
        names = [sc.name for sc in cluster_scenarios(chart)]
        print(f"conformance: cluster scenarios ({len(names)}), each in its own namespace: {', '.join(names)}")
    return choice.name


def write_plan(settings: Settings, chart: Chart, source: ChartSource, tiers: list[str],
               left: dict[str, str], provider: str) -> None:
    """`plan.json`: what this check of a chart is about to run (the gate's `planned` tiers, the report's header);
    `provider` is the resolved cluster provider ('' without cluster tiers)."""
    plan = {"name": chart.name, "version": chart.version, "chart": str(chart.path), "given": source.given,
            "tiers": tiers, "left_out": left, "kube_version": settings.kube_version, "helm_version": helm_version(),
            "provider": provider, "profile": settings.profile, "changed_since": settings.changed_since or ""}
    (settings.reports / PLAN).write_text(json.dumps(plan, indent=2) + "\n")


def pytest_command(settings: Settings, tiers: list[str], args: argparse.Namespace) -> list[str]:
    """The pytest invocation that runs the chosen suites with the plugin."""
    cmd = [sys.executable, "-m", "pytest", "-c", str(SUITES / "pytest.ini"), "--rootdir", str(SUITES),
           "-q", "--no-header", "--tb=no", "-p", "no:cacheprovider", "--chart", str(settings.chart),
           "--reports", str(settings.reports), "--kube-version", settings.kube_version]
    cmd += many_charts.option_args(args, ("chart", "reports", "kube_version"))
    if str(args.workers) not in ("0", ""):
        cmd += ["-n", str(args.workers), "--dist", "loadgroup"]
    if "fuzz" not in tiers:
        cmd += ["-p", "no:hypothesispytest"]  # only the fuzz tier uses hypothesis (its plugin costs ~0.15 s)
    cmd += list(args.pytest_arg)
    return cmd + [str(SUITES / t) for t in tiers]


def summarise(settings: Settings) -> int:
    """Print the summary (per tier, per rule family, first findings and their fix); return the blocking count."""
    path = settings.reports / "findings.json"
    if not path.is_file():
        print("conformance: no findings.json was written", file=sys.stderr)
        return 0
    findings = json.loads(path.read_text())["findings"]
    print(console(findings, settings.reports))
    return sum(1 for f in dedupe(findings) if f["severity"] == "error" and not f.get("waived"))


def check(args: argparse.Namespace) -> int:
    """`conformance check`: resolve the charts (folders, .tgz, oci://, --changed-since), check each into its
    own reports folder (the reports folder itself for one chart), then write the merged reports."""
    options = {o.name: getattr(args, o.name, None) for o in OPTIONS} | {"chart": None}
    base = resolve(options)
    root = base.reports
    sources, many = many_charts.select(args.chart, args.chart_version, base)
    if not sources:
        print(f"conformance: no chart changed since {base.changed_since}; nothing to check")
        return EXIT_OK
    folders = many_charts.prepare(root, sources, many)
    if many and args.jobs > 1:
        codes = many_charts.check_parallel(sources, folders, args)
    else:
        codes = check_sequential(sources, folders, options, args, many)
    try:
        print(f"conformance: report: {write_merged(root)}")
    except ConformanceError as exc:
        print(f"conformance: no merged report: {exc}", file=sys.stderr)
    return many_charts.worst(codes)


def check_sequential(sources: list[ChartSource], folders: dict[ChartSource, Path], options: dict[str, Any],
                     args: argparse.Namespace, many: bool) -> list[int]:
    """Check the charts one after the other in this process; a usage error stops only its chart when many."""
    codes = []
    for source in sources:
        options |= {"chart": str(source.path), "reports": str(folders[source])}
        try:
            codes.append(check_chart(source, resolve(options), args))
        except ConformanceError as exc:
            if not many:
                raise
            print(f"conformance: error: {source.given}: {exc}", file=sys.stderr)
            codes.append(exc.exit_code)
        if codes[-1] == EXIT_INTERRUPTED:
            break
        if many:
            with contextlib.suppress(ConformanceError):
                write_merged(folders[source])
    return codes


def check_chart(source: ChartSource, settings: Settings, args: argparse.Namespace) -> int:
    """Check one chart: validate inputs, say which tiers run, run pytest, summarise."""
    chart = load_chart(source.path, list(settings.values))
    tiers, left = select_tiers(args.tier)
    shown = source.given if source.given == str(source.path) else f"{source.given} -> {source.path}"
    print(f"conformance: chart {chart.name} {chart.version} ({shown}), Kubernetes {settings.kube_version}, "
          f"{len(chart.scenarios)} values scenarios, profile {settings.profile}")
    tiers = preflight(chart, settings, tiers, left)
    provider = announce_cluster(chart, settings, tiers) if {"cluster", "e2e"} & set(tiers) else ""
    if provider:
        args.provider = provider  # the fixtures build exactly the provider announced
    print(f"conformance: tiers run: {', '.join(tiers) or 'none'}")
    for tier, why in left.items():
        print(f"conformance: tier {tier} left out: {why}")
    if not tiers:
        raise UsageError("no tier can run; see the reasons above")
    settings.reports.mkdir(parents=True, exist_ok=True)
    for stale in [settings.reports / name for name in (FINDINGS, TIMINGS, "junit.xml", "report.html")]:
        stale.unlink(missing_ok=True)
    for stale in settings.reports.glob("junit-*.xml"):
        stale.unlink()
    write_plan(settings, chart, source, tiers, left, provider)
    sys.stdout.flush()
    proc = subprocess.Popen(pytest_command(settings, tiers, args))
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        # Ctrl-C reaches the whole process group, pytest included; signal it only if it was not interrupted too.
        try:
            proc.wait(timeout=TIMEOUTS.interrupt_grace)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            proc.wait()
        summarise(settings)
        return EXIT_INTERRUPTED
    blocking = summarise(settings)
    if code in (0, 1):
        return EXIT_FINDINGS if code == 1 or blocking else EXIT_OK
    if code == 2:
        return EXIT_INTERRUPTED
    print(f"conformance: pytest ended with exit code {code} (usage or internal error; see above)", file=sys.stderr)
    return EXIT_USAGE


def list_rules(args: argparse.Namespace) -> int:
    """`conformance rules`: every rule the harness can report (object rules, then flow rules), one line each,
    with the severity the profile gives it."""
    from conformance import profiles  # noqa: PLC0415
    from conformance.rules import all_rules  # noqa: PLC0415 (import registers the rules)
    from conformance.rules.base import reported_rules  # noqa: PLC0415

    profile = resolve({"profile": args.profile}).profile
    print(f"conformance: profile {profile}", file=sys.stderr)
    for r in profiles.apply(all_rules(), profile):
        kinds = ",".join(sorted(r.kinds)) or "all kinds"
        print(f"{r.id:24} {r.family:12} {r.severity:8} {r.doc} [{kinds}]")
    for f in profiles.apply(reported_rules(), profile):
        print(f"{f.id:24} {f.family:12} {f.severity:8} {f.doc} [tier {f.tier}]")
    return EXIT_OK


def docs(args: argparse.Namespace) -> int:
    """`conformance docs`: regenerate (or check) the README values table."""
    from conformance.docs import update_readme  # noqa: PLC0415

    if not (args.chart / "values.yaml").is_file():
        raise UsageError(f"{args.chart}: no values.yaml; pass a chart directory")
    fresh = update_readme(args.chart, check=args.check)
    if args.check and not fresh:
        print(f"{args.chart}/README.md: values table is stale; run `conformance docs {args.chart}`")
        return EXIT_FINDINGS
    return EXIT_OK


def cluster_command(args: argparse.Namespace) -> int:
    """`conformance cluster create|delete`."""
    from conformance import clustercmd  # noqa: PLC0415 (cluster providers only load for this command)

    if args.cluster_command == "create":
        for tool in PROVIDER_TOOLS[args.provider]:
            tool_path(tool)
        print(clustercmd.create(args.provider, args.name, args.kubeconfig_out))
    else:
        print(clustercmd.delete(args.name, args.provider))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one clear line and exit 2 for usage and environment errors."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        commands = {"check": check, "rules": list_rules, "gate": gatecmd.gate_command,
                    "release": gatecmd.release_command, "cluster": cluster_command, "docs": docs}
        return commands[args.command](args)
    except ConformanceError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
