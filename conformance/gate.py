"""`conformance gate`: the release decision over a reports folder, one line per broken condition.

The policy is a small YAML file (schema below, checked with jsonschema); without one the default holds: every
tier that ran passed, no unwaived error finding, every timing within its budget, and the tiers a release
needs (lint, render, fuzz, cluster) present for every chart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from conformance.errors import UsageError
from conformance.options import TIERS
from conformance.results import ChartResult, read_reports
from conformance.summary import dedupe

PLANNED = "planned"
POLICY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "conformance gate policy",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "require": {
            "description": "tiers every chart must have run, or `planned` (the tiers conformance check planned)",
            "oneOf": [{"const": PLANNED},
                      {"type": "array", "items": {"enum": list(TIERS)}, "uniqueItems": True}],
        },
        "tiers_pass": {"type": "boolean", "description": "every tier that ran passed"},
        "max_errors": {"type": "integer", "minimum": 0, "description": "unwaived error findings allowed"},
        "max_warnings": {"type": ["integer", "null"], "minimum": 0, "description": "warnings allowed (null: any)"},
        "timings_within_budget": {"type": "boolean", "description": "every timing at most its budget"},
        "allow_simulated": {"type": "boolean",
                            "description": "false: results a provider only simulated (kwok) cannot release"},
    },
}
DEFAULT_POLICY: dict[str, Any] = {"require": ["lint", "render", "fuzz", "cluster"], "tiers_pass": True,
                                  "max_errors": 0, "max_warnings": None, "timings_within_budget": True,
                                  "allow_simulated": True}


def load_policy(path: Path | None, require: str | None) -> dict[str, Any]:
    """The default policy, overlaid with the policy file and --require; UsageError naming file, key and fix."""
    policy = dict(DEFAULT_POLICY)
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--policy {path}: cannot read it ({exc}); pass a readable YAML file") from exc
        except yaml.YAMLError as exc:
            raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}); fix the syntax") from exc
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(POLICY_SCHEMA).iter_errors(data))
        if error is not None:
            key = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            raise UsageError(f"{path}: {key}: {error.message}; allowed keys: {', '.join(POLICY_SCHEMA['properties'])}")
        policy |= data or {}
    if require is not None:
        tiers = [t.strip() for t in require.split(",") if t.strip()]
        unknown = [t for t in tiers if t not in TIERS]
        if require.strip() == PLANNED:
            policy["require"] = PLANNED
        elif unknown or not tiers:
            raise UsageError(f"--require {require}: unknown tier {', '.join(unknown) or '(none)'}; use tiers from "
                             f"{','.join(TIERS)} or `planned`")
        else:
            policy["require"] = tiers
    return policy


@dataclass(frozen=True)
class Verdict:
    """What the gate decided: the broken conditions (none means release) and a one-line summary."""

    broken: list[str]
    summary: str

    @property
    def passed(self) -> bool:
        """True when the policy holds."""
        return not self.broken


def _required_lines(name: str, results: list[ChartResult], policy: dict[str, Any]) -> list[str]:
    """A required tier is present when any reports folder of the chart has it (CI jobs split the tiers: lint,
    render and fuzz in one job, cluster per Kubernetes version in others)."""
    ran = {t for r in results for t in r.tiers}
    if policy["require"] == PLANNED:
        required = [t for t in TIERS if any(t in r.planned for r in results)]
    else:
        required = list(policy["require"])
    out = []
    for tier in required:
        if tier not in ran:
            why = next((str(r.plan["left_out"][tier]) for r in results if tier in (r.plan.get("left_out") or {})),
                       "")
            out.append(f"{name}: tier {tier} did not run" + (f" ({why})" if why else "")
                       + f"; the policy requires {','.join(required)}")
    return out


def _reason(message: str) -> str:
    """A failure message without pytest's `assert not '...'` wrapping around the finding's own line."""
    m = re.fullmatch(r"(?:E\s+)?assert not (['\"])(.*?)\1?", message.strip(), re.S)
    return m.group(2) if m else message.strip()


def _tier_lines(chart: ChartResult, policy: dict[str, Any]) -> list[str]:
    out = []
    if policy["tiers_pass"]:
        for tier, t in chart.tiers.items():
            bad = [c for c in t.cases if c.outcome in ("failed", "error")]
            if bad:
                first = f"{bad[0].name}: {_reason(bad[0].message)}".strip().rstrip(":")
                out.append(f"{chart.name}: tier {tier} failed: {len(bad)} of {len(t.cases)} tests (first: "
                           f"{first[:200]})")
    return out


def _finding_lines(charts: list[ChartResult], policy: dict[str, Any]) -> list[str]:
    out = []
    found = [(c.name, f) for c in charts for f in dedupe(c.findings) if not f.get("waived")]
    errors = [(n, f) for n, f in found if f.get("severity") == "error"]
    warnings = [(n, f) for n, f in found if f.get("severity") == "warning"]
    for label, items, limit in (("error", errors, policy["max_errors"]), ("warning", warnings,
                                                                          policy["max_warnings"])):
        if limit is not None and len(items) > limit:
            name, f = items[0]
            out.append(f"{len(items)} unwaived {label} findings, the policy allows {limit} (first: {name}: "
                       f"{f.get('rule')}/{f.get('check')} {f.get('kind')}/{f.get('name')}: "
                       f"{str(f.get('message', ''))[:160]})")
    return out


def _timing_lines(chart: ChartResult, policy: dict[str, Any]) -> list[str]:
    out = []
    for r in chart.timings:
        where = f"{r.get('provider', '?')}, Kubernetes {r.get('kube_version', '?')}"
        budget = r.get("budget")
        if policy["timings_within_budget"] and budget is not None and float(r["seconds"]) > float(budget):
            out.append(f"{chart.name}: timing {r.get('id')} ({where}) took {float(r['seconds']):g} s, over its "
                       f"budget of {float(budget):g} s")
        if not policy["allow_simulated"] and r.get("simulated"):
            out.append(f"{chart.name}: timing {r.get('id')} ({where}) was only simulated; the policy allows no "
                       "simulated results")
    if not policy["allow_simulated"] and chart.simulated:
        out.append(f"{chart.name}: {len(chart.simulated)} test results were only simulated by the provider; the "
                   "policy allows no simulated results")
    return out


def decide(charts: list[ChartResult], policy: dict[str, Any]) -> Verdict:
    """Apply the policy to every chart's reports."""
    by_name: dict[str, list[ChartResult]] = {}
    for c in charts:
        by_name.setdefault(c.name, []).append(c)
    broken = [line for name, results in by_name.items() for line in _required_lines(name, results, policy)]
    broken += [line for c in charts for line in _tier_lines(c, policy) + _timing_lines(c, policy)]
    broken += _finding_lines(charts, policy)
    tiers = [t for t in TIERS if any(t in c.tiers for c in charts)]
    summary = (f"{len(by_name)} chart{'s' if len(by_name) != 1 else ''} ({', '.join(by_name)}), "
               f"tiers {','.join(tiers)}")
    return Verdict(broken, summary)


def gate(reports: Path, policy_file: Path | None, require: str | None) -> Verdict:
    """Read the reports (ReportsError: exit 2), load the policy (UsageError: exit 2) and decide."""
    policy = load_policy(policy_file, require)
    return decide(read_reports(reports), policy)
