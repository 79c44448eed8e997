"""The `floe` command: `helm generate|template|lint`, `deploy [status|history|rollback|pause|resume]`,
`artifact push` and `schema`. Exit 0 ok, 1 failed deploy or lint, 2 input, usage or environment error."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.timeouts import TIMEOUTS
from floe import __version__
from floe.artifacts import load_artifacts
from floe.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, DeployFailed, FloeError
from floe.generate import CHART_NAMES, PLATFORM, Generated, chart_dir, generate, load_cluster_mapping, write
from floe.helm import helm, history, lint_args, template_args, values_file
from floe.models import SCHEMA_PATH, schema_text
from floe.oci import Client, credentials, parse_reference


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """One line, exit 2."""
        print(f"floe: error: {self.prog}: {message}; see `{self.prog} --help`", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _env_args(p: argparse.ArgumentParser, artifact: bool = True) -> None:
    if artifact:
        p.add_argument("--artifact", required=True, help="compiled_artifacts.json path or oci://HOST/REPO:TAG")
    p.add_argument("--env", required=True, help="logical environment (dev, qa, uat, staging, prod, or any the "
                   "cluster mapping declares)")
    p.add_argument("--cluster-mapping", type=Path, help="cluster mapping YAML (default: floe-platform's values.yaml)")


def _kube_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""),
                   help="kubeconfig file(s), ':'-separated [env KUBECONFIG]; the context is the mapping's kubeContext")
    p.add_argument("--release", help="release name (default: the only release of the namespace)")


def parser() -> argparse.ArgumentParser:
    """The `floe` argument parser."""
    p = _Parser(prog="floe", description="floe: Helm values from compiled artifacts, and deploys.")
    p.add_argument("--version", action="version", version=f"floe {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    hp = sub.add_parser("helm", help="generate values, render or lint the charts with them")
    hsub = hp.add_subparsers(dest="helm_command", required=True, parser_class=_Parser)
    for name, what in (("generate", "write the values"), ("template", "helm template with the values"),
                       ("lint", "helm lint --strict with the values")):
        c = hsub.add_parser(name, help=what)
        _env_args(c)
        c.add_argument("--chart", default=PLATFORM, help=f"{' or '.join(CHART_NAMES)} or a chart directory "
                       "(default floe-platform)")
        if name == "generate":
            c.add_argument("--output", "-o", default="-", help="output file, or - for stdout (default)")
        if name == "template":
            c.add_argument("--release", default="floe", help="release name (default floe)")

    dp = sub.add_parser("deploy", help="deploy an environment; or status, history, rollback, pause, resume")
    dp.add_argument("--artifact", help="compiled_artifacts.json path or oci:// reference")
    dp.add_argument("--env", help="logical environment")
    dp.add_argument("--cluster-mapping", type=Path, help="cluster mapping YAML")
    dp.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""), help="kubeconfig file(s), ':'-separated")
    dp.add_argument("--platform", action="store_true", help="also deploy floe-platform into the namespace")
    dp.add_argument("--wait", action="store_true", help="wait until every workload is ready, with live status")
    dp.add_argument("--timeout", type=float, default=TIMEOUTS.sc001_deploy, help="seconds (default 600)")
    dsub = dp.add_subparsers(dest="deploy_command", parser_class=_Parser)
    for name, what in (("status", "namespace, quota, release and workloads"), ("history", "Helm release history"),
                       ("rollback", "roll back to a revision (default: the previous one)"),
                       ("pause", "pause the release's Deployment rollouts and CronJobs"),
                       ("resume", "resume them")):
        c = dsub.add_parser(name, help=what)
        _env_args(c, artifact=False)
        _kube_args(c)
        if name == "rollback":
            c.add_argument("revision", nargs="?", type=int, help="revision (default: the previous one)")

    ap = sub.add_parser("artifact", help="push compiled artifacts to an OCI registry")
    asub = ap.add_subparsers(dest="artifact_command", required=True, parser_class=_Parser)
    push = asub.add_parser("push", help="push a compiled_artifacts.json (validated first) as an OCI artifact")
    push.add_argument("file", help="compiled_artifacts.json")
    push.add_argument("reference", help="oci://HOST[:PORT]/REPOSITORY:TAG (credentials: FLOE_REGISTRY_USERNAME/"
                      "FLOE_REGISTRY_PASSWORD)")

    sp = sub.add_parser("schema", help="write (or --check) the JSON Schema generated from the contract models")
    sp.add_argument("--check", action="store_true", help="exit 1 if the committed schema is stale")
    return p


def _generated(args: argparse.Namespace) -> Generated:
    mapping = load_cluster_mapping(args.cluster_mapping)
    mapping.target(args.env)  # an unknown environment fails before the artifact is fetched
    return generate(load_artifacts(args.artifact), args.env, mapping, chart_dir(args.chart))


def helm_command(args: argparse.Namespace) -> int:
    """`floe helm generate|template|lint`."""
    gen = _generated(args)
    if args.helm_command == "generate":
        write(gen, args.output)
        if args.output != "-":
            print(f"floe: wrote {args.output} ({gen.chart.name}, environment {args.env}, {gen.digest[:19]})",
                  file=sys.stderr)
        return EXIT_OK
    with values_file(gen) as values:
        if args.helm_command == "template":
            code, out, err = helm(template_args(gen, values, args.release), TIMEOUTS.helm_template)
        else:
            code, out, err = helm(lint_args(gen, values), TIMEOUTS.helm_lint)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return EXIT_OK if code == 0 else EXIT_FAILED


def deploy_command(args: argparse.Namespace) -> int:
    """`floe deploy` and its subcommands."""
    # The Kubernetes client and rich take about a second to import: only deploys pay for them (SC-010).
    from floe.deploy import DeployRequest, deploy, kube_for, pause, pick_release, rollback, status  # noqa: PLC0415
    from floe.progress import reporter  # noqa: PLC0415

    if not args.env:
        raise FloeError("floe deploy: --env is required; e.g. floe deploy --artifact A --env dev")
    mapping = load_cluster_mapping(args.cluster_mapping)
    target = mapping.target(args.env)
    if args.deploy_command is None:
        if not args.artifact:
            raise FloeError("floe deploy: --artifact is required to deploy; pass a compiled_artifacts.json or oci://")
        req = DeployRequest(load_artifacts(args.artifact), args.env, mapping, args.kubeconfig, args.platform,
                            args.wait, args.timeout)
        return deploy(req, reporter())
    kube = kube_for(target, args.kubeconfig)
    cmd = args.deploy_command
    if cmd == "status":
        print("\n".join(status(target, kube, args.release)))
    elif cmd == "history":
        name = pick_release(args.release, target.namespace, kube)
        print(f"{'REVISION':>8}  {'STATUS':12} {'CHART':22} {'UPDATED':32} DESCRIPTION")
        for r in history(name, target.namespace, kube):
            print(f"{r['revision']:>8}  {r['status']:12} {r['chart']:22} {r['updated']:32} {r['description']}")
    elif cmd == "rollback":
        print(rollback(target, kube, args.release, args.revision))
    else:
        changed = pause(target, kube, args.release, cmd == "pause")
        print(f"{cmd}d: {', '.join(changed) or 'nothing (the release has no Deployment or CronJob)'}")
    return EXIT_OK


def artifact_command(args: argparse.Namespace) -> int:
    """`floe artifact push FILE oci://...`: validate, then push."""
    loaded = load_artifacts(args.file)
    digest = Client(parse_reference(args.reference), credentials()).push(loaded.raw, "compiled_artifacts.json")
    print(f"pushed {args.file} to {args.reference} ({digest})")
    return EXIT_OK


def schema_command(args: argparse.Namespace) -> int:
    """`floe schema [--check]`: regenerate-then-diff for the contracts' JSON Schema."""
    fresh = schema_text()
    if args.check:
        if not SCHEMA_PATH.is_file() or SCHEMA_PATH.read_text() != fresh:
            print(f"{SCHEMA_PATH}: stale; regenerate it with `floe schema`", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    SCHEMA_PATH.write_text(fresh)
    print(f"wrote {SCHEMA_PATH}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one line and exit 2 for bad input, exit 1 for a failed deploy."""
    args = parser().parse_args(argv)
    commands = {"helm": helm_command, "deploy": deploy_command, "artifact": artifact_command,
                "schema": schema_command}
    try:
        return commands[args.command](args)
    except FloeError as exc:
        print(f"floe: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except DeployFailed as exc:
        print(f"floe: deploy failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
