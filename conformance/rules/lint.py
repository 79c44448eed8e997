"""Chart-level lint rules. Their object is a chart document built by `chart_document()`."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import warnings
from collections.abc import Iterator
from typing import Any

import jsonschema
from yamllint import linter
from yamllint.config import YamlLintConfig

from conformance.rules.base import Context, Obj, Violation, every_rule_id, rule

CHART = frozenset({"Chart"})
SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)
#: One version term of a constraint (`>=1.30.0-0`, `~1.30`, `1.x`), and what may separate two terms. Terms need
#: a separator, so the pattern cannot split a number across terms (the nested form backtracked exponentially).
_TERM = r"[<>=!~^]*\s*v?\d+(?:\.(?:\d+|x|X|\*)){0,2}(?:-[0-9A-Za-z.-]*)?(?:\+[0-9A-Za-z.-]+)?"
_SEP = r"(?:\s*(?:\|\||,)\s*|\s+-\s+|\s+)"
CONSTRAINT = re.compile(rf"^\s*{_TERM}(?:{_SEP}{_TERM})*\s*$")
_BLOCK_SCALAR = re.compile(r"^[|>][-+0-9]*\s*(#.*)?$")
_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_./-]+|\"[^\"]+\"|'[^']+'):(\s|$)")


def chart_document(metadata: Obj, values: Obj, values_text: str, schema: Obj | None, schema_error: str,
                   waivers: list[Any], yaml_files: dict[str, str] | None = None, base: Obj | None = None) -> Obj:
    """The object the lint rules look at: Chart.yaml, the defaults and their text, the schema, the waivers, the
    text of the chart's own YAML files (Chart.yaml, values files, ci/ files) by relative path, and with
    --changed-since the chart at the merge-base (`base`: ref, changed, version)."""
    doc = {"kind": "Chart", "metadata": {"name": metadata.get("name", "")}, "chart": metadata,
           "values": values, "valuesText": values_text, "schema": schema, "schemaError": schema_error,
           "waivers": waivers, "yamlFiles": dict(yaml_files or {})}
    if base is not None:
        doc["base"] = base
    return doc


@rule("chart-metadata", "lint", "error", kinds=CHART)
def chart_metadata(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Chart.yaml has apiVersion v2, a name, a SemVer version, a description and a valid kubeVersion."""
    meta = obj.get("chart") or {}
    if meta.get("apiVersion") != "v2":
        yield Violation(f"apiVersion is {meta.get('apiVersion')!r}", "Chart.yaml:apiVersion", "apiVersion",
                        remediation="set apiVersion: v2 in Chart.yaml (Helm 3+ charts)")
    if not meta.get("name"):
        yield Violation("name is missing", "Chart.yaml:name", "name", remediation="set name in Chart.yaml")
    if not SEMVER.match(str(meta.get("version", ""))):
        yield Violation(f"version {meta.get('version')!r} is not SemVer 2", "Chart.yaml:version", "version",
                        remediation="set version to MAJOR.MINOR.PATCH in Chart.yaml")
    if not meta.get("description"):
        yield Violation("description is missing", "Chart.yaml:description", "description",
                        remediation="add a one-line description to Chart.yaml")
    kube = meta.get("kubeVersion")
    if kube is not None and not CONSTRAINT.match(str(kube)):
        yield Violation(f"kubeVersion {kube!r} is not a SemVer constraint", "Chart.yaml:kubeVersion",
                        "kubeVersion", remediation='write it like ">=1.30.0-0"')


@rule("values-schema", "lint", "error", kinds=CHART)
def values_schema(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """values.schema.json exists (without it values cannot be validated or fuzzed) and is a valid JSON Schema."""
    schema, error = obj.get("schema"), str(obj.get("schemaError") or "")
    if schema is None:
        if error == "missing":
            yield Violation("values.schema.json is missing: values are not validated and cannot be fuzzed",
                            "values.schema.json", "missing",
                            remediation="add values.schema.json describing values.yaml (additionalProperties: false)")
        else:
            yield Violation(error, "values.schema.json", "json", remediation="fix the JSON syntax")
        return
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        yield Violation(f"not a valid JSON Schema at /{where}: {exc.message}", f"values.schema.json#/{where}",
                        "metaschema", remediation="fix the schema keyword at that location")


@rule("values-defaults-valid", "lint", "error", kinds=CHART)
def defaults_valid(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """The chart's default values.yaml is valid against its values.schema.json."""
    schema = obj.get("schema")
    if not isinstance(schema, dict):
        return
    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = sorted(validator.iter_errors(obj.get("values") or {}), key=lambda e: list(map(str, e.path)))
    except jsonschema.SchemaError:
        return  # reported by values-schema
    for err in errors:
        key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        yield Violation(f"values.yaml: {key}: {err.message}", key, str(err.validator),
                        remediation=f"change values.yaml {key} or the schema so they agree")


#: Keys whose value is a free-form map (or a Kubernetes struct passed through): documented at the map, not per key.
FREE_FORM_KEYS = re.compile(r"(annotations|labels|selector|nodeselector|matchlabels|env|envvars|extraenv|"
                            r"affinity|podsecuritycontext|securitycontext|resources|probe)$", re.IGNORECASE)
#: readme-generator-for-helm (`## @param a.b text`, `## @extra a.b`, `## @skip a.b`) and helm-docs' old style
#: (`# a.b -- text`): comments anywhere in the file that document a key by its path.
_PARAM = re.compile(r"^\s*#+\s*@(param|extra|skip)\s+(?P<path>\S+)")
_HELM_DOCS_PATH = re.compile(r"^\s*#+\s*(?P<path>[A-Za-z0-9_][A-Za-z0-9_.\[\]/-]*)\s+--\s")


def documented_elsewhere(text: str) -> tuple[set[str], set[str]]:
    """(paths documented by a path-naming comment, paths skipped with `@skip` with all their children)."""
    documented: set[str] = set()
    skipped: set[str] = set()
    for line in text.splitlines():
        m = _PARAM.match(line)
        if m:
            path = re.sub(r"\[\d*\]", "", m["path"])
            (skipped if m[1] == "skip" else documented).add(path)
            continue
        h = _HELM_DOCS_PATH.match(line)
        if h and "." in h["path"]:
            documented.add(re.sub(r"\[\d*\]", "", h["path"]))
    return documented, skipped


def _resolve(schema: Any, root: Obj) -> Obj:
    """A schema node with a local `$ref` followed (one level of `allOf` merged too)."""
    for _ in range(8):
        if not isinstance(schema, dict) or not isinstance(schema.get("$ref"), str):
            break
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return {}
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = node
    return schema if isinstance(schema, dict) else {}


def schema_at(schema: Obj | None, path: list[str]) -> Obj | None:
    """The schema node describing values at `path`, or None when the schema does not say."""
    if not isinstance(schema, dict):
        return None
    node = _resolve(schema, schema)
    for key in path:
        props = node.get("properties") or {}
        if key in props:
            node = _resolve(props[key], schema)
            continue
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            node = _resolve(extra, schema)
            continue
        return None
    return node


def is_open_map(schema: Obj | None, path: list[str]) -> bool:
    """True when the schema leaves the map at `path` open: an object with no named properties."""
    node = schema_at(schema, path)
    if node is None:
        return False
    typ = node.get("type")
    is_object = typ == "object" or (isinstance(typ, list) and "object" in typ)
    return is_object and not node.get("properties") and node.get("additionalProperties") is not False


def undocumented_keys(text: str, schema: Obj | None = None) -> list[tuple[str, int]]:
    """Mapping keys in a values.yaml text that nothing documents, as (dotted path, line).

    A key is documented by a comment line directly above it (`# -- text`, `## text`), or anywhere by a comment
    naming its path (`## @param a.b text`, `# a.b -- text`). The keys inside a free-form map (one the schema
    leaves open, or annotations, labels, selectors, env maps and Kubernetes structs) are documented at the map.
    """
    documented, skipped = documented_elsewhere(text)
    out: list[tuple[str, int]] = []
    stack: list[tuple[int, str]] = []
    prev = ""
    in_list_at = -1
    block_at = -1  # indent of a key whose value is a block scalar (`|`, `>-`): its lines are text, not keys
    free_at = -1  # indent of a free-form map's key: the keys below it are its entries
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_at >= 0 and (not stripped or indent > block_at):
            continue
        block_at = -1
        if not stripped:
            prev = ""
            continue
        if free_at >= 0 and indent > free_at:
            continue
        free_at = -1
        item = stripped.startswith("- ") or stripped == "-"
        if (in_list_at >= 0 and indent > in_list_at) or item:
            in_list_at = indent if item and in_list_at < 0 else in_list_at
            prev = stripped
            continue
        in_list_at = -1
        m = _KEY.match(line)
        if m and not stripped.startswith("#"):
            key = m.group("key").strip("\"'")
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parts = [k for _, k in stack] + [key]
            path = ".".join(parts)
            stack.append((indent, key))
            if not prev.startswith("#") and path not in documented and not _under(path, skipped):
                out.append((path, number))
            rest = line[m.end():].strip()
            if _BLOCK_SCALAR.match(rest):
                block_at = indent
            elif FREE_FORM_KEYS.search(key) or is_open_map(schema, parts) or _under(path, skipped):
                free_at = indent
        prev = stripped
    return out


def _under(path: str, prefixes: set[str]) -> bool:
    """True when `path` is one of `prefixes` or inside one of them."""
    return any(path == p or path.startswith(p + ".") for p in prefixes)


@rule("values-documented", "lint", "error", kinds=CHART)
def values_documented(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Every key in values.yaml is documented: a comment above it, or a `@param`/helm-docs comment naming it."""
    schema = obj.get("schema") if isinstance(obj.get("schema"), dict) else None
    for path, line in undocumented_keys(str(obj.get("valuesText") or ""), schema):
        yield Violation(f"values.yaml:{line}: {path} has no comment", path, "comment",
                        remediation=f"add a `# -- <what it does>` line above {path} in values.yaml (or a "
                        f"`## @param {path} <what it does>` line)")


#: chart-testing's yamllint configuration (helm/chart-testing etc/lintconf.yaml), pinned here so `ct lint` and
#: this rule agree; only its errors fail (truthy is a warning there, as here).
def _lintconf(text: str) -> YamlLintConfig:
    with warnings.catch_warnings():  # yamllint 1.37 builds its file patterns with a deprecated pathspec API
        warnings.simplefilter("ignore", DeprecationWarning)
        return YamlLintConfig(text)


LINTCONF = _lintconf("""
rules:
  braces: {min-spaces-inside: 0, max-spaces-inside: 0, min-spaces-inside-empty: -1, max-spaces-inside-empty: -1}
  brackets: {min-spaces-inside: 0, max-spaces-inside: 0, min-spaces-inside-empty: -1, max-spaces-inside-empty: -1}
  colons: {max-spaces-before: 0, max-spaces-after: 1}
  commas: {max-spaces-before: 0, min-spaces-after: 1, max-spaces-after: 1}
  comments: {require-starting-space: true, min-spaces-from-content: 2}
  document-end: disable
  document-start: disable
  empty-lines: {max: 2, max-start: 0, max-end: 0}
  hyphens: {max-spaces-after: 1}
  indentation: {spaces: consistent, indent-sequences: whatever, check-multi-line-strings: false}
  key-duplicates: enable
  line-length: disable
  new-line-at-end-of-file: enable
  new-lines: {type: unix}
  trailing-spaces: enable
  truthy: {level: warning}
""")


@rule("yamllint", "lint", "error", kinds=CHART)
def yaml_lint(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Chart.yaml, values files and ci/ files pass yamllint with chart-testing's configuration."""
    for name, text in sorted((obj.get("yamlFiles") or {}).items()):
        for p in linter.run(str(text), LINTCONF):
            if p.level != "error":
                continue
            check = p.rule or "syntax"
            yield Violation(f"{name}:{p.line}:{p.column}: {p.desc} ({check})", f"{name}:{p.line}", check,
                            remediation=f"fix line {p.line} of {name} (`yamllint` reports the same with "
                            "chart-testing's lintconf.yaml)")


#: Where a `helm lint` line points: a template and line inside its message, else the file it is about.
_LINT_TEMPLATE = re.compile(r"[\w.-]+/((?:charts/[\w.-]+/)*templates/[\w./-]+?\.\w+):(\d+)")
_LINT_FILE = re.compile(r"^\[(?:ERROR|WARNING)\]\s+([\w./-]+):")


def lint_location(line: str) -> str:
    """The chart file (and line) a `helm lint` line is about: `templates/configmap.yaml:7`, `Chart.yaml`."""
    template = _LINT_TEMPLATE.search(line)
    if template:
        return f"{template.group(1)}:{template.group(2)}"
    named = _LINT_FILE.match(line)
    return named.group(1) if named and named.group(1) != "templates/" else "the chart"


@rule("helm-lint", "lint", "error", kinds=CHART)
def helm_lint(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """`helm lint --strict` passes with no errors or warnings on every Helm major (output from the real helm)."""
    for binary, (code, output) in sorted((ctx.extras.get("helm_lint") or {}).items()):
        lines = [ln.strip() for ln in str(output).splitlines() if re.match(r"^\s*\[(ERROR|WARNING)\]", ln)]
        for ln in lines:
            yield Violation(f"{binary} lint: {ln}", "", binary,
                            remediation=f"fix {lint_location(ln)} as the line says (reproduce: {binary} lint --strict "
                            "CHART, with the scenario's --values files)")
        if code != 0 and not lines:
            tail = " ".join(str(output).split())[-300:]
            yield Violation(f"{binary} lint failed (exit {code}): {tail}", "", binary,
                            remediation="run helm lint --strict on the chart and fix what it names")


@rule("waivers-valid", "lint", "error", kinds=CHART)
def waivers_valid(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """Every waiver names a known rule, an object, a reason and an expiry date that has not passed."""
    today = ctx.extras.get("today") or dt.date.today()
    known = every_rule_id()
    for i, w in enumerate(obj.get("waivers") or []):
        where = f"conformance-waivers.yaml:waivers[{i}]"
        if not isinstance(w, dict):
            yield Violation(f"{where} is not a mapping", where, "shape", remediation="write rule/object/reason/expiry")
            continue
        for key in ("rule", "object", "reason", "expiry"):
            if not w.get(key):
                yield Violation(f"{where}: {key} is missing", f"{where}.{key}", "shape",
                                remediation=f"add {key} to the waiver")
        if w.get("rule") and not fnmatch.filter(known, str(w["rule"])):
            yield Violation(f"{where}: rule {w['rule']!r} matches no rule the harness reports, so it waives nothing",
                            f"{where}.rule", "unknown-rule",
                            remediation="use a rule ID (or glob) listed by `conformance rules`")
        expiry = w.get("expiry")
        if isinstance(expiry, dt.datetime):
            expiry = expiry.date()  # YAML reads `2026-01-01T00:00:00` as a datetime, which cannot be compared to a date
        if isinstance(expiry, str):
            try:
                expiry = dt.date.fromisoformat(expiry)
            except ValueError:
                yield Violation(f"{where}: expiry {expiry!r} is not YYYY-MM-DD", f"{where}.expiry", "shape",
                                remediation="write the expiry as YYYY-MM-DD")
                continue
        elif expiry and not isinstance(expiry, dt.date):
            yield Violation(f"{where}: expiry {expiry!r} is not a date", f"{where}.expiry", "shape",
                            remediation="write the expiry as YYYY-MM-DD")
            continue
        if isinstance(expiry, dt.date) and expiry < today:
            yield Violation(f"{where}: waiver of {w.get('rule')} for {w.get('object')} expired on {expiry}",
                            f"{where}.expiry", "expired",
                            remediation="fix the finding it waives, or renew the waiver with a new reason")
