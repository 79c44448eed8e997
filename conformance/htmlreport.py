"""`<reports>/report.html`: one self-contained page (inline CSS and SVG, no script, nothing fetched) that a
person reads after a run: a summary per chart and tier, every finding grouped by rule with its object, template,
path and fix, the fuzz counterexamples with their replay command, what a provider only simulated, and the
timings against their budgets per provider and Kubernetes version.

Every number shown sits in an element with a `data-key`, so the tests can read the page as a browser renders
it and compare it with the JSON reports.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from html import escape
from pathlib import Path
from typing import Any

from conformance.results import ChartResult
from conformance.summary import dedupe, family_of

HTML = "report.html"
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d2430;max-width:1400px}
h1{font-size:1.6em}h2{border-bottom:2px solid #d5dbe4;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{border:1px solid #d5dbe4;padding:.3em .5em;
text-align:left;vertical-align:top}th{background:#eef1f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.fail{color:#b3261e;font-weight:600}.pass{color:#1e7b34;font-weight:600}.warn{color:#8a5a00}
code,pre{font:12px ui-monospace,monospace;background:#f5f7fa}pre{padding:.5em;overflow-x:auto}
.muted{color:#667085}td code{word-break:break-all}svg text{font:12px system-ui,sans-serif}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _num(key: str, value: Any, cls: str = "num") -> str:
    return f'<td class="{cls}" data-key="{_e(key)}">{_e(value)}</td>'


def summary_section(charts: list[ChartResult]) -> str:
    """Per chart and tier: passed, failed, skipped and seconds; tiers left out with the reason."""
    rows = []
    for c in charts:
        for tier, t in c.tiers.items():
            k = f"{c.name}/{tier}"
            state = '<span class="pass">passed</span>' if t.passed else '<span class="fail">failed</span>'
            rows.append(f"<tr><td>{_e(c.name)}</td><td>{_e(c.plan.get('version', ''))}</td><td>{_e(tier)}</td>"
                        f"<td>{state}</td>{_num(k + '/passed', t.count('passed'))}"
                        f"{_num(k + '/failed', t.count('failed') + t.count('error'))}"
                        f"{_num(k + '/skipped', t.count('skipped'))}{_num(k + '/seconds', f'{t.seconds:.1f}')}</tr>")
        for tier, why in (c.plan.get("left_out") or {}).items():
            rows.append(f"<tr class=\"muted\"><td>{_e(c.name)}</td><td>{_e(c.plan.get('version', ''))}</td>"
                        f"<td>{_e(tier)}</td><td colspan=\"5\">left out: {_e(why)}</td></tr>")
    head = ("<tr><th>chart</th><th>version</th><th>tier</th><th>result</th><th>passed</th><th>failed</th>"
            "<th>skipped</th><th>seconds</th></tr>")
    return f'<h2 id="summary">Summary per chart and tier</h2><table id="tiers">{head}{"".join(rows)}</table>'


def _all_findings(charts: list[ChartResult]) -> list[dict[str, Any]]:
    return [{**f, "chart": c.name} for c in charts for f in dedupe(c.findings)]


def findings_section(charts: list[ChartResult]) -> str:
    """Every finding (one per root cause), grouped by rule: object, template, path, message and fix."""
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in _all_findings(charts):
        by_rule[str(f.get("rule", ""))].append(f)
    totals: Counter[str] = Counter("waived" if f.get("waived") else str(f.get("severity"))
                                   for f in _all_findings(charts))
    err, warn = ("fail" if totals["error"] else "pass"), ("warn" if totals["warning"] else "pass")
    out = [f'<h2 id="findings">Findings by rule</h2><p><span class="{err}" data-key="findings/errors">'
           f'{totals["error"]}</span> errors, <span class="{warn}" data-key="findings/warnings">{totals["warning"]}'
           f'</span> warnings, <span data-key="findings/waived">{totals["waived"]}</span> waived '
           "(one per root cause: the same rule, check, object and path in several scenarios count once)</p>"]

    def blocking(rule: str) -> int:
        return -sum(1 for f in by_rule[rule] if f.get("severity") == "error" and not f.get("waived"))

    for rule in sorted(by_rule, key=lambda r: (blocking(r), r)):
        items = by_rule[rule]
        out.append(f'<h3 id="rule-{_e(rule)}">{_e(rule)} <span class="muted">({_e(family_of(rule))}, '
                   f'<span data-key="rule/{_e(rule)}/count">{len(items)}</span>)</span></h3>')
        rows = []
        for f in items:
            sev = "waived" if f.get("waived") else str(f.get("severity", ""))
            cls = {"error": "fail", "warning": "warn"}.get(sev, "muted")
            obj = f"{f.get('kind')}/{f.get('name')}" + (f" ({f['container']})" if f.get("container") else "")
            scenarios = ", ".join(f.get("scenarios") or [f.get("scenario", "")])
            rows.append(f"<tr><td>{_e(f['chart'])}</td><td class=\"{cls}\">{_e(sev)}</td><td>{_e(f.get('check'))}"
                        f"</td><td>{_e(obj)}</td><td><code>{_e(f.get('template'))}</code></td><td><code>"
                        f"{_e(f.get('path'))}</code></td><td>{_e(f.get('message'))}</td><td>"
                        f"{_e(f.get('remediation'))}</td><td>{_e(scenarios)}</td></tr>")
        out.append("<table><tr><th>chart</th><th>severity</th><th>check</th><th>object</th><th>template</th>"
                   "<th>path</th><th>message</th><th>fix</th><th>scenarios</th></tr>" + "".join(rows) + "</table>")
    if not by_rule:
        out.append("<p>No findings.</p>")
    return "".join(out)


def fuzz_section(charts: list[ChartResult]) -> str:
    """Fuzz counterexamples: the minimal values and the command that replays them."""
    items = [f for f in _all_findings(charts) if (f.get("extra") or {}).get("command")]
    out = ['<h2 id="fuzz">Fuzz counterexamples</h2>']
    if not items:
        return out[0] + "<p>None: every fuzz property held (or the fuzz tier did not run).</p>"
    for i, f in enumerate(items):
        values = json.dumps(f.get("values"), indent=2, sort_keys=True, default=str)
        out.append(f'<div class="counterexample" data-key="fuzz/{i}"><h3>{_e(f["chart"])}: {_e(f["rule"])} / '
                   f"{_e(f.get('check'))}</h3><p>{_e(f.get('message'))}</p><p>minimal values:</p><pre>"
                   f"{_e(values)}</pre><p>replay:</p><pre class=\"replay\">{_e(f['extra']['command'])}</pre></div>")
    return "".join(out)


def simulated_section(charts: list[ChartResult]) -> str:
    """Which results a provider only simulated (kwok's nodes run no containers)."""
    rows = [f"<tr><td>{_e(c.name)}</td><td>{_e(case.properties.get('provider', ''))}</td><td>"
            f"{_e(case.properties.get('tier', ''))}</td><td><code>{_e(case.name)}</code></td><td>{_e(case.outcome)}"
            "</td></tr>" for c in charts for case in c.simulated]
    rows += [f"<tr><td>{_e(c.name)}</td><td>{_e(r.get('provider', ''))}</td><td>timing</td><td><code>"
             f"{_e(r.get('id'))}</code></td><td>{_e(r.get('seconds'))} s</td></tr>"
             for c in charts for r in c.timings if r.get("simulated")]
    head = '<h2 id="simulated">Simulated results</h2>'
    if not rows:
        ran = any(t in c.tiers for c in charts for t in ("cluster", "e2e"))
        return head + ("<p>No result was simulated: every cluster result came from real containers.</p>" if ran
                       else "<p>None: the cluster and e2e tiers did not run.</p>")
    return (head + f'<p><span data-key="simulated/count">{len(rows)}</span> results were simulated by the '
            "provider (kwok: the API server, admission and controllers are real; containers, probes and hooks are "
            "simulated by stages).</p><table><tr><th>chart</th><th>provider</th><th>tier</th><th>test or timing"
            "</th><th>result</th></tr>" + "".join(rows) + "</table>")


BAR_H, GAP, LEFT, WIDTH = 22, 6, 260, 880


def timings_svg(rows: list[dict[str, Any]]) -> str:
    """A bar per timing, as a share of its budget (the line at 100%), one group per provider and version."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(str(r.get("provider", "")), str(r.get("kube_version", "")))].append(r)
    scale_max = max([100.0, *(100.0 * float(r["seconds"]) / float(r["budget"]) for r in rows if r.get("budget"))])
    plot = WIDTH - LEFT - 170
    parts, y = [], 10
    for (provider, kube), items in sorted(groups.items()):
        parts.append(f'<text x="0" y="{y + 14}" font-weight="bold">{_e(provider)} · Kubernetes {_e(kube)}</text>')
        y += BAR_H + GAP
        for r in items:
            seconds, budget = float(r["seconds"]), float(r.get("budget") or 0)
            share = 100.0 * seconds / budget if budget else 0.0
            w = plot * share / scale_max
            colour = "#b3261e" if budget and seconds > budget else "#2f6fde"
            label = f"{r.get('chart', '')} {r.get('id', '')}" + (" (simulated)" if r.get("simulated") else "")
            parts.append(f'<text x="10" y="{y + 15}">{_e(label)}</text>'
                         f'<rect x="{LEFT}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{colour}"/>'
                         f'<text x="{LEFT + w + 6:.1f}" y="{y + 15}">{seconds:g} s of {budget:g} s</text>')
            y += BAR_H + GAP
        y += GAP * 2
    budget_x = LEFT + plot * 100.0 / scale_max
    parts.append(f'<line x1="{budget_x:.1f}" y1="0" x2="{budget_x:.1f}" y2="{y}" stroke="#b3261e" '
                 'stroke-dasharray="4 3"/>'
                 f'<text x="{budget_x + 4:.1f}" y="{y + 14}" fill="#b3261e">budget (100%)</text>')
    return (f'<svg id="timings-chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y + 24}" '
            f'role="img" aria-label="timings against budgets">{"".join(parts)}</svg>')


def timings_section(charts: list[ChartResult]) -> str:
    """The timings chart and the same numbers as a table."""
    rows = [{**r, "chart": r.get("chart") or c.name} for c in charts for r in c.timings]
    head = '<h2 id="timings">Timings against budgets</h2>'
    if not rows:
        return head + "<p>No timings: the cluster and e2e tiers did not run.</p>"
    table = []
    for i, r in enumerate(rows):
        over = bool(r.get("budget")) and float(r["seconds"]) > float(r["budget"])
        table.append(f"<tr><td>{_e(r['chart'])}</td><td>{_e(r.get('scenario', ''))}</td><td>{_e(r.get('id'))}</td>"
                     f"<td>{_e(r.get('provider'))}</td><td>{_e(r.get('kube_version'))}</td>"
                     f"{_num(f'timing/{i}/seconds', r['seconds'])}{_num(f'timing/{i}/budget', r.get('budget'))}"
                     f"<td class=\"{'fail' if over else 'pass'}\">{'over budget' if over else 'within'}"
                     f"{' (simulated)' if r.get('simulated') else ''}</td></tr>")
    return (head + timings_svg(rows) + "<table><tr><th>chart</th><th>scenario</th><th>timing</th><th>provider</th>"
            "<th>Kubernetes</th><th>seconds</th><th>budget (s)</th><th>result</th></tr>" + "".join(table)
            + "</table>")


def render_html(charts: list[ChartResult], title: str = "Chart conformance report") -> str:
    """The whole page."""
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    names = ", ".join(f"{c.name} {c.plan.get('version', '')}".strip() for c in charts)
    meta = {k: v for c in charts for k, v in c.plan.items() if k in ("kube_version", "helm_version", "provider")}
    facts = " · ".join(f"{k.replace('_', ' ')} {_e(v)}" for k, v in meta.items() if v)
    nav = " · ".join(f'<a href="#{a}">{t}</a>' for a, t in (("summary", "summary"), ("findings", "findings"),
                     ("fuzz", "fuzz"), ("simulated", "simulated"), ("timings", "timings")))
    body = "".join((summary_section(charts), findings_section(charts), fuzz_section(charts),
                    simulated_section(charts), timings_section(charts)))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1><p>{_e(names)}<br><span class=\"muted\">"
            f"{facts} · generated {when}</span></p><p>{nav}</p>{body}</body></html>\n")


def write_html(root: Path, charts: list[ChartResult]) -> Path:
    """Write `<root>/report.html` (through a temporary file)."""
    path = root / HTML
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(charts), encoding="utf-8")
    tmp.replace(path)
    return path
