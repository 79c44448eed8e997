"""Every option of the harness in one table: CLI flag, environment twin, config key, default.

Precedence: command line, then environment, then `conformance.toml` in the working directory, then the
default. The pytest plugin and the `conformance` CLI both read this table.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError

TIERS = ("lint", "render", "fuzz", "cluster", "e2e")
PROVIDERS = ("auto", "kwok", "kind", "kubeconfig")
FUZZ_PROFILES = ("ci", "local")
PROFILE_NAMES = ("floe", "community", "restricted")


@dataclass(frozen=True)
class Option:
    """One option: its name, flag, environment variable, default and help."""

    name: str
    default: Any
    help: str
    multiple: bool = False

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. --kube-version."""
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        """The environment twin, e.g. CONFORMANCE_KUBE_VERSION."""
        return "CONFORMANCE_" + self.name.upper()


OPTIONS = (
    Option("chart", None, "chart directory under test"),
    Option("values", [], "extra values scenario: a file, or files joined by commas to stack them", multiple=True),
    Option("kube_version", "1.35", "target Kubernetes version (MAJOR.MINOR), passed explicitly to every render"),
    Option("reports", "reports", "folder for junit-<tier>.xml, findings.json, fuzz replays and caches"),
    Option("provider", "auto", f"cluster provider for the cluster and e2e tiers: {', '.join(PROVIDERS)}"),
    Option("kubeconfig", None, "kubeconfig of an existing cluster (only with --provider kubeconfig)"),
    Option("kube_context", None, "context in that kubeconfig (only with --provider kubeconfig; default its current)"),
    Option("upgrade_from", None, "previous release to upgrade from: a chart folder, a .tgz, oci://REPO/CHART:VERSION "
           "or git:REF (the chart as of that commit); default: found from git tags and history, else the chart"),
    Option("budget_sc001", 600, "SC-001 budget, seconds: install until every workload is ready"),
    Option("budget_sc002", 30, "SC-002 budget, seconds: Job created until its first container runs"),
    Option("budget_upgrade", 600, "budget, seconds: helm upgrade until every workload is ready"),
    Option("budget_rollback", 300, "budget, seconds: helm rollback until every workload is ready"),
    Option("budget_cluster_start", 300, "budget, seconds: cluster creation until the API server serves"),
    Option("fuzz_examples", 1000, "fuzz examples per property (at most: --fuzz-budget may stop a property sooner)"),
    Option("fuzz_budget", 8, "seconds each fuzz property may spend generating examples (a found failure is still "
           "shrunk): the four properties of floe-platform's fuzz tier stay under a minute"),
    Option("fuzz_seed", None, "fuzz seed (the ci profile fixes one)"),
    Option("fuzz_profile", "ci", f"fuzz profile: {', '.join(FUZZ_PROFILES)} (ci: derandomised, fixed seed)"),
    Option("fuzz_backend", "inprocess", "fuzz render backend: inprocess (tools/helmrender, the chart loaded once) "
           "or cli (helm template per example)"),
    Option("fuzz_yaml_strings", "off", "on: also check that free-text values with YAML syntax (`: `, `#`, `*`, `&`, "
           "control characters) render valid YAML, reported as quoting warnings (fuzz-quoting)"),
    Option("crds", None, "folder of CustomResourceDefinition YAML files: custom resources are validated against them"),
    Option("profile", "community", "rule severities: floe (strict: every rule at its registered severity), community "
           "(documentation, labels, limits, probes, kubesec as warnings) or restricted (community + PSS restricted)"),
    Option("changed_since", None, "git ref: check only charts changed since the merge-base with it, and require "
           "their version to increase (chart-version-bump)"),
)

BY_NAME = {o.name: o for o in OPTIONS}
#: Timing IDs (timings.json, JUnit) and the option holding each budget.
BUDGETS = {"sc-001": "budget_sc001", "sc-002": "budget_sc002", "upgrade": "budget_upgrade",
           "rollback": "budget_rollback", "cluster-start": "budget_cluster_start"}


@dataclass(frozen=True)
class Settings:
    """Resolved options of one run."""

    chart: Path | None
    values: tuple[str, ...]
    kube_version: str
    reports: Path
    provider: str
    kubeconfig: str | None
    upgrade_from: str | None
    fuzz_examples: int
    fuzz_budget: float
    fuzz_seed: int | None
    fuzz_profile: str
    fuzz_backend: str
    crds: Path | None = None
    fuzz_yaml_strings: bool = False
    profile: str = "community"
    changed_since: str | None = None
    kube_context: str | None = None
    #: timing budgets in seconds, by timing ID (sc-001, sc-002, upgrade, rollback, cluster-start)
    budgets: tuple[tuple[str, float], ...] = ()

    def budget(self, timing: str) -> float:
        """The budget of a timing ID in seconds (the option's default when not resolved through `resolve`)."""
        return dict(self.budgets).get(timing) or float(BY_NAME[BUDGETS[timing]].default)

    @property
    def kube_version_full(self) -> str:
        """The target version as MAJOR.MINOR.PATCH for helm --kube-version."""
        return self.kube_version if self.kube_version.count(".") >= 2 else self.kube_version + ".0"


def _config_file() -> dict[str, Any]:
    path = Path("conformance.toml")
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path.resolve()}: {exc}; fix the TOML syntax") from exc


def _raw(option: Option, cli: dict[str, Any], config: dict[str, Any]) -> tuple[Any, str]:
    value = cli.get(option.name)
    if value not in (None, []):
        return value, option.flag
    env = os.environ.get(option.env)
    if env:
        return (env.split(os.pathsep) if option.multiple else env), option.env
    if option.name in config:
        return config[option.name], f"conformance.toml:{option.name}"
    return option.default, "default"


def _int(value: Any, where: str, low: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {value!r} is not a whole number") from None
    if number < low:
        raise UsageError(f"{where}: {number} is less than the minimum of {low}")
    return number


def _seconds(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {value!r} is not a number of seconds") from None
    if not number > 0:
        raise UsageError(f"{where}: {number:g} is not above 0; give the seconds each fuzz property may search")
    return number


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if str(value) not in choices:
        raise UsageError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    return str(value)


def resolve(cli: dict[str, Any]) -> Settings:
    """Resolve every option (CLI over env over conformance.toml over default) and validate it."""
    config = _config_file()
    raw = {o.name: _raw(o, cli, config) for o in OPTIONS}
    kube, where = raw["kube_version"]
    if not re.fullmatch(r"1\.\d{1,2}(\.\d{1,2})?", str(kube)):
        raise UsageError(f"{where}: {kube!r} is not a Kubernetes version; write MAJOR.MINOR like 1.35")
    chart = raw["chart"][0]
    seed, seed_where = raw["fuzz_seed"]
    values = raw["values"][0] or []
    return Settings(
        chart=Path(chart) if chart else None,
        values=tuple(values if isinstance(values, list | tuple) else [values]),
        kube_version=str(kube),
        reports=Path(raw["reports"][0]),
        provider=_choice(raw["provider"][0], raw["provider"][1], PROVIDERS),
        kubeconfig=raw["kubeconfig"][0],
        upgrade_from=raw["upgrade_from"][0],
        fuzz_examples=_int(raw["fuzz_examples"][0], raw["fuzz_examples"][1], 1),
        fuzz_budget=_seconds(raw["fuzz_budget"][0], raw["fuzz_budget"][1]),
        fuzz_seed=None if seed is None else _int(seed, seed_where, 0),
        fuzz_profile=_choice(raw["fuzz_profile"][0], raw["fuzz_profile"][1], FUZZ_PROFILES),
        fuzz_backend=_choice(raw["fuzz_backend"][0], raw["fuzz_backend"][1], ("inprocess", "cli")),
        crds=_folder(raw["crds"][0], raw["crds"][1]),
        kube_context=raw["kube_context"][0],
        budgets=tuple((t, float(_int(raw[o][0], raw[o][1], 1))) for t, o in BUDGETS.items()),
        fuzz_yaml_strings=_choice(str(raw["fuzz_yaml_strings"][0]).lower(), raw["fuzz_yaml_strings"][1],
                                  ("on", "off", "true", "false", "1", "0")) in ("on", "true", "1"),
        profile=_choice(raw["profile"][0], raw["profile"][1], PROFILE_NAMES),
        changed_since=raw["changed_since"][0] or None,
    )


def _folder(value: Any, where: str) -> Path | None:
    if value in (None, ""):
        return None
    path = Path(str(value))
    if not path.is_dir():
        raise UsageError(f"{where}: {path} is not a folder; pass a folder of CustomResourceDefinition YAML files")
    return path
