"""What a bundled chart needs on Kind: its Kind values, releases installed first, and an E2E read-back.

`kind/values/<chart>.yaml` points a chart at the images `make kind-images` builds (no registry here);
`kind/charts.yaml` lists, per chart, the releases to install first in its namespace (floe-jobs needs
floe-platform's PostgreSQL) and the command whose output proves the Jobs did their work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance import REPO_ROOT
from conformance.cluster.base import Cluster
from conformance.errors import EnvError

KIND_DIR = REPO_ROOT / "kind"


@dataclass(frozen=True)
class Before:
    """A release installed before the chart, in the same namespace."""

    release: str
    chart: Path
    values: tuple[Path, ...]


@dataclass(frozen=True)
class Verify:
    """A command run in a pod after the chart's Jobs complete; its output must contain `expect`."""

    describe: str
    pod_selector: str
    container: str
    command: tuple[str, ...]
    expect: str


@dataclass(frozen=True)
class KindPlan:
    """A chart's Kind values overlay, prerequisites and read-back (all empty for other charts)."""

    values: tuple[Path, ...] = ()
    before: tuple[Before, ...] = ()
    verify: Verify | None = None
    job_log_expect: str = ""


def _paths(items: Any, where: str) -> tuple[Path, ...]:
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise EnvError(f"{where}: expected a list of paths relative to the repository root")
    return tuple(REPO_ROOT / i for i in items)


def plan_for(chart_name: str, directory: Path = KIND_DIR) -> KindPlan:
    """The Kind plan of a chart from kind/values/<chart>.yaml and kind/charts.yaml."""
    overlay = directory / "values" / f"{chart_name}.yaml"
    values = (overlay,) if overlay.is_file() else ()
    path = directory / "charts.yaml"
    data = yaml.safe_load(path.read_text()) if path.is_file() else {}
    entry = (data or {}).get(chart_name) or {}
    if not isinstance(entry, dict):
        raise EnvError(f"{path}: `{chart_name}` must be a mapping with `before` and/or `verify`")
    before = tuple(
        Before(str(b["release"]), REPO_ROOT / str(b["chart"]), _paths(b.get("values") or [], f"{path}: {chart_name}"))
        for b in entry.get("before") or []
    )
    v = entry.get("verify")
    verify = None
    if v:
        try:
            verify = Verify(str(v["describe"]), str(v["pod_selector"]), str(v["container"]),
                            tuple(str(c) for c in v["command"]), str(v["expect"]))
        except (KeyError, TypeError) as exc:
            raise EnvError(f"{path}: {chart_name}.verify needs describe, pod_selector, container, command, "
                           f"expect ({exc})") from exc
    return KindPlan(values, before, verify, str(entry.get("job_log_expect") or ""))


def run_verify(cluster: Cluster, namespace: str, verify: Verify) -> str:
    """Run the read-back command in the first pod matching the selector; '' when its output has `expect`,
    else why not."""
    pod = cluster.kubectl("get", "pods", "--namespace", namespace, "--selector", verify.pod_selector,
                          "--output", "jsonpath={.items[0].metadata.name}").strip()
    if not pod:
        return f"{verify.describe}: no pod matches {verify.pod_selector}"
    proc = cluster.run_kubectl("exec", pod, "--namespace", namespace, "--container", verify.container, "--",
                               *verify.command)
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or verify.expect not in out:
        return f"{verify.describe}: expected {verify.expect!r} from {' '.join(verify.command)!r} in {pod}, got {out!r}"
    return ""
