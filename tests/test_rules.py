"""Every registered rule against its pass and fail fixtures (fixtures/rules/<rule-id>/{pass,fail}/).

A fixture file holds the subject object first, then context objects (the other objects of the same render).
A fail fixture names the exact set of checks it must produce in its `conformance.floe.dev/expect-checks`
annotation, and may name text its fixes must say, one fragment a line, in `conformance.floe.dev/expect-fix`
(a fragment found in no fix fails, so a vaguer fix coming back fails). A fixture may give the chart's default
values (`conformance.floe.dev/values`, YAML) and the subject's template (`conformance.floe.dev/template`), which a
render would supply. A fixture directory is a chart: its chart document is the subject, `helm lint` output comes from
the real helm and helm3, and the annotation lives in Chart.yaml. kubesec scores come from the real kubesec.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import conformance.rules
from conformance import kubesec
from conformance.chart import chart_yaml_files, load_chart, load_waivers_text
from conformance.options import BUDGETS
from conformance.plan import helm_lint
from conformance.rules import Context, Rule, all_rules, get_rule
from conformance.rules.base import FAMILIES, every_rule_id
from conformance.rules.immutable import VARIANT, ref
from conformance.rules.lint import chart_document

# Every module under conformance/rules registers its rules on import: walk them all, so a rule module the
# package forgets to import is still held to its fixtures (and collection is the same on every xdist worker).
for _mod in pkgutil.iter_modules(conformance.rules.__path__):
    importlib.import_module(f"conformance.rules.{_mod.name}")

RULES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "rules"
EXPECT = "conformance.floe.dev/expect-checks"
EXPECT_FIX = "conformance.floe.dev/expect-fix"
VALUES = "conformance.floe.dev/values"
TEMPLATE = "conformance.floe.dev/template"
KUBE_VERSION = "conformance.floe.dev/kube-version"
VARIANT_OF = "conformance.floe.dev/variant"
DEFAULT_KUBE = "1.35"
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: Rule IDs are referenced by waivers, reports and `--rules`: removing or renaming one is a breaking change.
STABLE_IDS = {
    "chart-metadata", "helm-lint", "image-pinned", "k8s-schema", "k8s-schema-known", "kubesec-score",
    "labels-component", "labels-recommended", "labels-selector-match", "labels-selector-stable",
    "labels-service-selector", "probes", "rbac-no-wildcard", "resources", "sa-token-automount",
    "values-defaults-valid", "values-documented", "values-schema", "waivers-valid",
    "statefulset-service", "ingress-backend", "networkpolicy-coverage", "pdb-replicated", "hpa-target",
    "env-secret-literal", "probes-distinct", "api-removed", "api-deprecated", "custom-resources", "yamllint",
    "immutable-fields-stable",
}
#: Rule IDs that tiers report from flows; `conformance rules` and waivers must know every one of them.
FLOW_ID = re.compile(r"""["'](renders|(?:fuzz|cluster|e2e|sc-\d{3})-[a-z0-9-]+)["']""")


def fixture_entries(rule_id: str, outcome: str) -> list[Path]:
    """The fixtures of one rule and outcome: YAML files and chart directories, sorted."""
    folder = RULES_DIR / rule_id / outcome
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".yaml" or (p / "Chart.yaml").is_file())


def all_fixtures() -> list[Any]:
    """(rule folder, outcome, path) for every fixture on disk, as pytest params."""
    out = []
    for rule_dir in sorted(p for p in RULES_DIR.iterdir() if p.is_dir()):
        for outcome in ("pass", "fail"):
            out += [pytest.param(rule_dir.name, outcome, path, id=f"{rule_dir.name}/{outcome}/{path.stem}")
                    for path in fixture_entries(rule_dir.name, outcome)]
    return out


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    """An object's metadata.annotations."""
    return (obj.get("metadata") or {}).get("annotations") or {}


def expected_checks(annots: dict[str, str]) -> set[str]:
    """The checks a fail fixture announces."""
    return {c.strip() for c in annots.get(EXPECT, "").split(",") if c.strip()}


def load_subject(rule: Rule, path: Path, cache: Path) -> tuple[dict[str, Any], Context, dict[str, str]]:
    """The subject, the context the rule sees, and the fixture's annotations."""
    if path.is_dir():
        chart = load_chart(path)
        text = (path / "values.yaml").read_text() if (path / "values.yaml").is_file() else ""
        doc = chart_document(chart.metadata, chart.defaults, text, chart.schema, chart.schema_error,
                             load_waivers_text(path), chart_yaml_files(path))
        extras = {"helm_lint": helm_lint(chart, chart.scenarios[0], f"{DEFAULT_KUBE}.0")}
        return doc, Context(DEFAULT_KUBE, (), extras), dict(chart.metadata.get("annotations") or {})
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs and all(isinstance(d, dict) for d in docs), f"{path}: every YAML document must be a mapping"
    subject, annots = docs[0], annotations(docs[0])
    kube = annots.get(KUBE_VERSION, DEFAULT_KUBE)
    extras: dict[str, Any] = {"values": yaml.safe_load(annots.get(VALUES, "{}")),
                              "templates": {ref(subject): annots[TEMPLATE]} if TEMPLATE in annots else {}}
    if rule.id == "immutable-fields-stable":  # later documents: the same objects rendered from the next release
        extras[VARIANT] = {ref(d): d for d in docs[1:] if annotations(d).get(VARIANT_OF) == "next-release"}
        assert extras[VARIANT], f"{path}: an immutable-fields fixture needs a {VARIANT_OF} document"
    if rule.id == "kubesec-score":
        extras["kubesec"] = kubesec.scores([subject], kube, cache)
        assert extras["kubesec"], f"{path}: kubesec scored nothing"
    return subject, Context(kube, tuple(docs), extras), annots


@pytest.mark.parametrize(("rule_id", "outcome", "path"), all_fixtures())
def test_fixture(rule_id: str, outcome: str, path: Path, kubesec_cache: Path) -> None:
    """A pass fixture has no violations; a fail fixture has exactly the announced checks, each explained."""
    assert rule_id in {r.id for r in all_rules()}, f"fixtures/rules/{rule_id}: no rule has this ID"
    rule = get_rule(rule_id)
    subject, ctx, annots = load_subject(rule, path, kubesec_cache)
    assert rule.applies_to(subject), f"{path.name}: a {subject.get('kind')} is not something {rule_id} looks at"
    violations = rule.check(subject, ctx)
    if outcome == "pass":
        assert EXPECT not in annots, f"{path.name}: a pass fixture announces no checks"
        assert violations == [], "\n".join(v.message for v in violations)
        return
    expected = expected_checks(annots)
    assert expected, f"{path.name}: a fail fixture must carry {EXPECT}"
    assert {v.check for v in violations} == expected, "\n".join(f"{v.check}: {v.message}" for v in violations)
    for v in violations:
        assert v.message.strip() and v.remediation.strip(), f"{v.check}: a finding says what is wrong and the fix"
    fixes = [v.remediation for v in violations]
    for fragment in filter(None, (f.strip() for f in annots.get(EXPECT_FIX, "").splitlines())):
        assert any(fragment in fix for fix in fixes), f"no fix says {fragment!r}:\n" + "\n".join(fixes)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_has_pass_and_fail_fixtures(rule: Rule) -> None:
    """STYLE 2: a rule without fixtures fails."""
    assert fixture_entries(rule.id, "pass"), f"fixtures/rules/{rule.id}/pass/ has no fixture"
    assert fixture_entries(rule.id, "fail"), f"fixtures/rules/{rule.id}/fail/ has no fixture"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_has_kebab_id_family_and_docstring_doc(rule: Rule) -> None:
    """IDs are kebab-case, families closed, and the doc is the first line of the check's docstring."""
    assert KEBAB.match(rule.id), rule.id
    assert rule.family in FAMILIES
    assert rule.severity in ("error", "warning", "info")
    first_line = (rule.fn.__doc__ or "").strip().splitlines()[0]
    assert rule.doc == first_line and len(rule.doc) > 20
    assert rule.doc.endswith("."), f"{rule.id}: the doc is one sentence: {rule.doc!r}"


def test_rule_ids_are_stable() -> None:
    """No known rule ID disappears (waivers and reports refer to them)."""
    assert {r.id for r in all_rules()} >= STABLE_IDS


def test_every_fixture_folder_belongs_to_a_rule() -> None:
    """A fixture folder for a renamed or deleted rule would silently stop being tested."""
    ids = {r.id for r in all_rules()}
    assert sorted(p.name for p in RULES_DIR.iterdir() if p.is_dir() and p.name not in ids) == []



def test_every_reported_rule_id_is_registered() -> None:
    """Every flow rule ID a tier or the harness writes into a finding is registered (so waivers can name it)."""
    root = RULES_DIR.parent.parent
    used = {m[1] for folder in ("conformance", "suites") for f in (root / folder).rglob("*.py")
            for m in FLOW_ID.finditer(f.read_text())}
    assert used, "no flow rule IDs found: the pattern is stale"
    assert sorted(used - set(every_rule_id()) - set(BUDGETS)) == []  # BUDGETS: timing IDs such as cluster-start


def test_kubesec_fix_is_short_and_findings_keep_every_advice_item(kubesec_cache: Path) -> None:
    """kubesec-score's fix names a few items (critical first) on one short line; the violation's `extra` (written
    to findings.json) keeps kubesec's whole advice, each item with its id, selector, reason and points."""
    rule = get_rule("kubesec-score")
    for path in fixture_entries(rule.id, "fail"):
        subject, ctx, _ = load_subject(rule, path, kubesec_cache)
        _, advice = ctx.extras["kubesec"][ref(subject)]
        [v] = rule.check(subject, ctx)
        assert v.extra["kubesec_advice"] == advice and len(advice) > 3, path.name
        assert {"id", "selector", "reason", "points", "critical"} <= set(advice[0]), advice[0]
        assert len(v.remediation) < 400 and v.remediation.count(";") == 3, v.remediation
        assert f"+{len(advice) - 3} more (see findings.json)" in v.remediation
        assert ("critical" in v.remediation.split(";")[0]) == any(a["critical"] for a in advice), v.remediation
