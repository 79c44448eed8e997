"""The four fuzz properties, each a function from one example to findings (empty when it holds)."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.cases import Case, cases_for_manifests, profile_rules
from conformance.fuzz.mutations import Mutation
from conformance.fuzz.schema import first_error
from conformance.fuzz.strategies import Example
from conformance.fuzz.target import SCENARIO, Target
from conformance.render.manifest import Manifest, RenderResult
from conformance.report import Finding
from conformance.rules import Context
from conformance.values import merge_values

#: Rule families checked on every example. kubesec-score is left out: it runs a binary (~0.2 s) per
#: render, which would cap fuzzing at 5 examples a second; the render tier scores every scenario.
FAST_FAMILIES = ("pss", "labels", "schema", "networking", "availability", "api")
SLOW_RULES = frozenset({"kubesec-score"})
SCHEMA_ERROR = "values don't meet the specifications of the schema"
#: Helm refuses values that replace a dependency's (subchart or library chart) values map with a scalar or list
#: while merging them, before schema validation: that is a rejection too.
COALESCE_ERROR = "type mismatch on"
_FAIL = re.compile(r"execution error at \((?P<where>[^)]*)\): (?P<msg>.*)")


def finding(target: Target, rule: str, check: str, message: str, values: Any, remediation: str,
            template: str = "", extra: dict[str, Any] | None = None) -> Finding:
    """A chart-level fuzz finding, with the chart's waivers applied."""
    return Finding(rule=rule, check=check, severity="error", kind="Chart", name=target.chart.name, namespace="",
                   container="", template=template, path="", message=message, remediation=remediation,
                   scenario=SCENARIO, tier="fuzz", values=values, waived=target.waived(rule, check),
                   extra=extra or {})


def classify(error: str) -> tuple[str, str, str]:
    """(check, template, remediation) of a render error on schema-valid values."""
    if SCHEMA_ERROR in error:
        return ("validator-disagreement", "",
                "Helm's schema validator rejects values Python's jsonschema accepts; simplify the schema")
    m = _FAIL.search(error)
    if m:
        return ("schema-gap", m.group("where").split(":")[0],
                "the schema accepts values the chart `fail`s on: state the constraint in values.schema.json "
                "(if/then, enum, minimum) so Helm rejects them before rendering")
    return ("render-crash", "", "the template crashes on schema-valid values: guard it, or forbid the values "
            "in values.schema.json (minimum, enum, if/then)")


def check_renders(target: Target, example: Example, result: RenderResult | None = None) -> list[Finding]:
    """Property 1: schema-valid values render."""
    result = result or target.render(example.minimal)
    if result.ok:
        return []
    check, template, fix = classify(result.error)
    return [finding(target, "fuzz-renders", check, result.error, example.minimal, fix, template)]


def _cases(target: Target, manifests: list[Manifest], values: Any) -> list[Case]:
    """Every render rule but kubesec-score on every object: the harness's cases plus hygiene without kubesec."""
    cases = cases_for_manifests(manifests, SCENARIO, target.settings, target.waivers, tier="fuzz", values=values,
                                families=FAST_FAMILIES)
    ctx = Context(target.settings.kube_version, tuple(m.obj for m in manifests), {})
    hygiene = [r for r in profile_rules(target.settings) if r.family == "hygiene" and r.id not in SLOW_RULES]
    return cases + [Case("fuzz", SCENARIO, r, m, ctx, target.waivers, values)
                    for m in manifests for r in hygiene if r.applies_to(m.obj)]


#: Rules whose verdict depends only on the object and the Kubernetes version (not on the other objects):
#: their findings are memoised per object, since most objects render the same for most examples.
OBJECT_LOCAL = frozenset({"k8s-schema", "k8s-schema-known", "pss-baseline", "pss-restricted", "resources", "probes",
                          "image-pinned", "rbac-no-wildcard", "labels-recommended", "labels-component",
                          "labels-selector-match"})
_MEMO: dict[tuple[str, int], tuple[dict[str, Any], list[Finding]]] = {}


def evaluate(case: Case) -> list[Finding]:
    """`case.evaluate()`, memoised per (rule, object) for object-local rules; values set to this example's."""
    if case.rule.id not in OBJECT_LOCAL:
        return case.evaluate()
    key = (case.rule.id, id(case.obj.obj))
    hit = _MEMO.get(key)
    if hit is None or hit[0] is not case.obj.obj:
        if len(_MEMO) > 50_000:
            _MEMO.clear()
        hit = (case.obj.obj, case.evaluate())
        _MEMO[key] = hit
    return [replace(f, values=case.values) for f in hit[1]]


def _root(f: Finding) -> tuple[str, ...]:
    return (f.rule, f.check, f.kind, f.name, f.container, f.path)


_SHOWN: dict[int, tuple[Target, frozenset[tuple[str, ...]]]] = {}


def shown_by_defaults(target: Target) -> frozenset[tuple[str, ...]]:
    """Root causes the chart's defaults already show (the render tier reports them): fuzzing reports only others."""
    hit = _SHOWN.get(id(target))
    if hit is None or hit[0] is not target:
        result = target.render_valid(target.defaults)
        found = frozenset(_root(f) for case in _cases(target, result.manifests, None) for f in case.evaluate()) \
            if result.ok else frozenset()
        hit = _SHOWN[id(target)] = (target, found)
    return hit[1]


def check_conformant(target: Target, example: Example, result: RenderResult | None = None) -> list[Finding]:
    """Property 2: every render rule (but kubesec) holds on the output of schema-valid values (root causes the
    defaults already show are left to the render tier)."""
    result = result or target.render_valid(example.minimal)
    if not result.ok:
        return []
    out = []
    known = shown_by_defaults(target)
    for case in _cases(target, result.manifests, example.minimal):
        for f in evaluate(case):
            if _root(f) in known:
                continue
            waived = f.waived or target.waived("fuzz-conformant", f"{f.rule}/{f.check}")
            out.append(replace(f, rule="fuzz-conformant", check=f"{f.rule}/{f.check}", waived=waived,
                               extra={"rule": f.rule}))
    return out


def check_rejects(target: Target, mutation: Mutation) -> list[Finding]:
    """Property 3: values jsonschema rejects are rejected by Helm's own schema validation too."""
    reason = first_error(target.schema, merge_values(target.defaults, mutation.override))
    if not reason:
        return []
    result = target.render(mutation.override)
    if not result.ok and (SCHEMA_ERROR in result.error or COALESCE_ERROR in result.error):
        return []  # Helm's schema validation, or its merge of a dependency's values, rejected them up front
    got = "rendered them" if result.ok else f"failed outside schema validation: {result.error}"
    message = f"{mutation.name}: jsonschema rejects the values ({reason}) but Helm {got}"
    return [finding(target, "fuzz-rejects-invalid", mutation.kind, message, mutation.override,
                    "make values.schema.json state the constraint so `helm` rejects the values up front",
                    extra={"mutation": mutation.name})]


def _identity(m: Manifest) -> tuple[str, str, str]:
    return (m.template, m.kind, m.name)


def template_texts(chart_dir: Path) -> Iterator[str]:
    """The text of every template of a chart and of its subcharts and library charts (vendored directories
    under charts/ and packaged charts/*.tgz), where named templates that call `lookup` often live."""
    for f in sorted(chart_dir.rglob("*")):
        rel = f.relative_to(chart_dir).parts
        if f.is_file() and "templates" in rel:
            yield f.read_text(errors="replace")
        elif f.is_file() and f.suffix == ".tgz" and rel[0] == "charts":
            try:
                with tarfile.open(f) as tar:
                    for member in tar.getmembers():
                        data = tar.extractfile(member) if member.isfile() and "/templates/" in member.name else None
                        if data is not None:
                            yield data.read().decode(errors="replace")
            except (tarfile.TarError, OSError):
                continue


@lru_cache(maxsize=64)
def uses_lookup(chart_dir: Path, kind: str) -> bool:
    """True when the chart (or a library chart it vendors) reads existing objects of this kind back with `lookup`
    (so generated data stays stable across upgrades)."""
    pattern = re.compile(r'lookup\s+"[^"]*"\s+"' + re.escape(kind) + '"')
    return any(pattern.search(text) for text in template_texts(chart_dir))


def check_deterministic(target: Target, example: Example) -> list[Finding]:
    """Property 4: the same values render the same objects (random data must be reused through `lookup`)."""
    first, second = target.render_valid(example.minimal), target.render_valid(example.minimal)
    if first.error or second.error:
        if first.error != second.error:
            return [finding(target, "fuzz-deterministic", "error", f"two renders disagree: {first.error!r} vs "
                            f"{second.error!r}", example.minimal, "remove randomness from the templates")]
        return []
    again = {_identity(m): m.obj for m in second.manifests}
    out = []
    for m in first.manifests:
        if again.get(_identity(m)) == m.obj or uses_lookup(target.path, m.kind):
            continue
        out.append(finding(target, "fuzz-deterministic", "unstable-object",
                           f"{m.ref} differs between two renders of the same values; an upgrade would change it",
                           example.minimal, "derive the value from the values, or reuse the existing object's "
                           "data via `lookup` so upgrades keep it", m.template))
    return out
