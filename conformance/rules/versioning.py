"""Release hygiene across commits: a chart that changed since the base ref carries a higher version."""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.rules.base import Context, Obj, Violation, rule
from conformance.rules.lint import CHART

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def semver_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]] | None:
    """A sort key with SemVer 2 precedence (a pre-release sorts before its release; build metadata ignored)."""
    m = _SEMVER.match(version.strip())
    if not m:
        return None
    pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in (m[4] or "").split(".") if p)
    return int(m[1]), int(m[2]), int(m[3]), 0 if pre else 1, pre


@rule("chart-version-bump", "lint", "error", kinds=CHART)
def chart_version_bump(obj: Obj, ctx: Context) -> Iterator[Violation]:
    """A chart changed since the base ref (--changed-since) has a higher SemVer version than it had there."""
    base = obj.get("base") or {}
    before, now = str(base.get("version") or ""), str((obj.get("chart") or {}).get("version", ""))
    if not base.get("changed") or not before:
        return  # unchanged, or new since the ref: nothing to compare with
    old_key, new_key = semver_key(before), semver_key(now)
    if old_key is None or new_key is None:
        return  # chart-metadata reports a version that is not SemVer
    if new_key <= old_key:
        yield Violation(f"the chart changed since {base.get('ref')} but its version {now} is not higher than "
                        f"{before} there", "Chart.yaml:version", "not-increased",
                        remediation=f"bump version in Chart.yaml above {before} (a patch bump for a fix, minor for a "
                        "feature, major for a breaking change)")
