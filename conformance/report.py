"""Findings: the record of every violation, and `findings.json` written even when a run fails."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance.summary import dedupe


@dataclass(frozen=True)
class Finding:
    """One violation of one rule by one object, as written to findings.json."""

    rule: str
    check: str
    severity: str
    kind: str
    name: str
    namespace: str
    container: str
    template: str
    path: str
    message: str
    remediation: str = ""
    scenario: str = ""
    tier: str = ""
    values: dict[str, Any] | None = None
    waived: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """True when the finding fails the run: an unwaived error."""
        return self.severity == "error" and not self.waived

    def line(self) -> str:
        """One line for a terminal or a test failure message."""
        where = f"{self.kind}/{self.name}" + (f" container {self.container}" if self.container else "")
        fix = f" -> {self.remediation}" if self.remediation else ""
        tpl = f" [{self.template}]" if self.template else ""
        waived = f" (waived: {self.waived})" if self.waived else ""
        return f"{self.severity} {self.rule}/{self.check} {where}{tpl}: {self.message}{fix}{waived}"

    def to_json(self) -> str:
        """Serialised form, carried through pytest-xdist in a report's user_properties."""
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> Finding:
        """The inverse of to_json."""
        return cls(**json.loads(text))


def write_findings(path: Path, chart: str, tiers: list[str], findings: list[Finding]) -> None:
    """Merge this run's findings into findings.json, replacing earlier entries of the same tiers; findings that
    are the same rule, check, object and path in several scenarios become one entry with `scenarios`."""
    existing: list[dict[str, Any]] = []
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            if data.get("chart") == chart:
                existing = [f for f in data.get("findings", []) if f.get("tier") not in tiers]
        except (json.JSONDecodeError, AttributeError):
            existing = []
    merged = existing + [asdict(f) for f in findings]
    merged.sort(key=lambda f: (f.get("tier", ""), f["rule"], f["kind"], f["name"], f.get("scenario", "")))
    merged = dedupe(merged)  # one finding per root cause, listing its scenarios
    out = {
        "chart": chart,
        "summary": {
            "errors": sum(1 for f in merged if f["severity"] == "error" and not f.get("waived")),
            "warnings": sum(1 for f in merged if f["severity"] == "warning"),
            "waived": sum(1 for f in merged if f.get("waived")),
        },
        "findings": merged,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(out, indent=2, default=str) + "\n")
    tmp.replace(path)
