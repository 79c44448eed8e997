"""Waivers: data in the chart (`conformance-waivers.yaml`) that quarantines known findings until an expiry."""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.chart import load_waivers_text


@dataclass(frozen=True)
class Waiver:
    """Waives findings of one rule (and optionally one check and scenario) on objects matching a glob."""

    rule: str
    object: str
    reason: str
    expiry: dt.date
    check: str = "*"
    scenario: str = "*"

    def matches(self, rule_id: str, check: str, obj_ref: str, scenario: str) -> bool:
        """True when this waiver covers a finding."""
        return (
            fnmatch.fnmatchcase(rule_id, self.rule)
            and fnmatch.fnmatchcase(obj_ref, self.object)
            and fnmatch.fnmatchcase(check or "", self.check)
            and fnmatch.fnmatchcase(scenario, self.scenario)
        )

    def active(self, today: dt.date) -> bool:
        """True until the expiry date has passed (an expired waiver waives nothing and is a lint finding)."""
        return self.expiry >= today


def parse(entries: list[Any]) -> list[Waiver]:
    """Well-formed waiver entries (malformed ones are reported by the `waivers-valid` lint rule)."""
    out = []
    for w in entries:
        if not isinstance(w, dict) or not all(w.get(k) for k in ("rule", "object", "reason", "expiry")):
            continue
        expiry = w["expiry"]
        if isinstance(expiry, str):
            try:
                expiry = dt.date.fromisoformat(expiry)
            except ValueError:
                continue
        if isinstance(expiry, dt.datetime):
            expiry = expiry.date()
        if not isinstance(expiry, dt.date):
            continue
        out.append(Waiver(str(w["rule"]), str(w["object"]), str(w["reason"]), expiry,
                          str(w.get("check", "*")), str(w.get("scenario", "*"))))
    return out


def load(chart_dir: Path) -> list[Waiver]:
    """The chart's waivers."""
    return parse(load_waivers_text(chart_dir))


def find(waivers: list[Waiver], rule_id: str, check: str, obj_ref: str, scenario: str,
         today: dt.date | None = None) -> Waiver | None:
    """The first active waiver covering a finding, if any."""
    day = today or dt.date.today()
    return next((w for w in waivers if w.active(day) and w.matches(rule_id, check, obj_ref, scenario)), None)
