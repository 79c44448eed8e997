"""PSS parity with upstream: every case of k8s.io/pod-security-admission's own test data, at every version.

The module is pinned in tools/pss/go.mod and fetched into Go's module cache by `tools/build.sh pss`, which
records its directory in .tools/pss.dir; the cases are read from there (none is copied into this repository).
A case is `test/testdata/<level>/v<version>/<pass|fail>/<check><n>.yaml`: at that level and policy version a
pass case must give no finding, and a fail case must give findings that include the check it is named after.
`make pss-parity` runs this file as a script and prints, last, `pss parity: N cases, versions A-B, D disagreements`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import conformance.rules.pss as pss
from conformance import REPO_ROOT
from conformance.rules.base import Context, get_rule

FIRST, LAST = (1, 25), pss.MAX_VERSION
VERSIONS = tuple(f"{FIRST[0]}.{minor}" for minor in range(FIRST[1], LAST[1] + 1))
LEVELS = ("baseline", "restricted")
DIR_FILE = REPO_ROOT / ".tools" / "pss.dir"


def upstream_pin() -> str:
    """The pod-security-admission version pinned in tools/pss/go.mod."""
    m = re.search(r"^require k8s.io/pod-security-admission (v\S+)$", (REPO_ROOT / "tools/pss/go.mod").read_text(), re.M)
    assert m, "tools/pss/go.mod must require k8s.io/pod-security-admission"
    return m[1]


def upstream_testdata() -> Path:
    """The upstream test data folder in the module cache (fetched by `tools/build.sh pss`)."""
    assert DIR_FILE.is_file(), f"{DIR_FILE} is missing: run `tools/build.sh pss` (or `make tools`)"
    root = Path(DIR_FILE.read_text().strip())
    assert root.name == f"pod-security-admission@{upstream_pin()}", f"{root} is not the pinned {upstream_pin()}: " \
        "run `tools/build.sh pss`"
    data = root / "test" / "testdata"
    assert data.is_dir(), f"{data} is missing: run `tools/build.sh pss`"
    return data


@dataclass(frozen=True)
class Disagreement:
    """One upstream case whose verdict or check our rules get wrong."""

    case: str
    want: str
    got: list[str]


def check_of(path: Path) -> str:
    """The check a case is about, lower-cased as upstream names its files (`hostports2.yaml` -> `hostports`)."""
    return re.sub(r"\d+$", "", path.stem)


def judge(path: Path, level: str, version: str) -> Disagreement | None:
    """Our rules' verdict on one upstream case, or the disagreement."""
    obj = yaml.safe_load(path.read_text())
    ctx = Context(kube_version=version)
    rules = ["pss-baseline"] + (["pss-restricted"] if level == "restricted" else [])
    found = sorted({v.check for rid in rules for v in get_rule(rid).check(obj, ctx)})
    name = str(path.relative_to(path.parents[3]))
    if path.parent.name == "pass":
        return Disagreement(name, "allowed", found) if found else None
    if check_of(path) not in {c.lower() for c in found}:
        return Disagreement(name, f"denied for {check_of(path)}", found)
    return None


def cases(level: str, version: str) -> list[Path]:
    """Every upstream case of one level and version."""
    folder = upstream_testdata() / level / f"v{version}"
    return sorted(folder.glob("*/*.yaml"))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("level", LEVELS)
def test_every_upstream_case_gets_its_verdict_and_check(level: str, version: str) -> None:
    """All pass cases pass; every fail case fails and names the check of its file."""
    found = cases(level, version)
    assert any(p.parent.name == "pass" for p in found) and any(p.parent.name == "fail" for p in found), \
        f"no upstream cases for {level} v{version} in {upstream_testdata()}"
    wrong = [d for p in found if (d := judge(p, level, version))]
    assert not wrong, "\n".join(f"{d.case}: want {d.want}, ours {d.got}" for d in wrong)


def test_pin_is_the_release_the_rules_port() -> None:
    """The test data, the rules' source and the API server oracle are one pod-security-admission release."""
    pin = upstream_pin()
    assert f"pod-security-admission {pin}" in pss.UPSTREAM
    kube = (REPO_ROOT / "tools/kube/go.mod").read_text()
    assert f"k8s.io/pod-security-admission => k8s.io/pod-security-admission {pin}" in kube


def main() -> int:
    """Print every disagreement, then the one-line summary; exit 1 on any disagreement."""
    total, wrong = 0, []
    for version in VERSIONS:
        for level in LEVELS:
            found = cases(level, version)
            total += len(found)
            wrong += [d for p in found if (d := judge(p, level, version))]
    for d in wrong:
        print(f"  {d.case}: want {d.want}, ours {d.got}")
    print(f"pss parity: {total} cases, versions {VERSIONS[0]}-{VERSIONS[-1]}, {len(wrong)} disagreements")
    return 1 if wrong or not total else 0


if __name__ == "__main__":
    sys.exit(main())
