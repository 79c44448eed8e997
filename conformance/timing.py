"""Timings as results: SC-001, SC-002, upgrade, rollback and cluster start, each with its provenance.

A test records a `Timing` as JUnit properties of its own case; the plugin gathers them (from xdist workers
too) and writes `<reports>/timings.json`, a list of rows that say how each figure was obtained.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

#: The JUnit property that carries a timing row through pytest-xdist.
TIMING = "conformance_timing"


@dataclass(frozen=True)
class Timing:
    """One measured duration against its budget, and how it was obtained."""

    id: str
    seconds: float
    budget: float
    provider: str
    kube_version: str
    chart: str
    scenario: str
    simulated: bool = False
    detail: str = ""

    @property
    def within_budget(self) -> bool:
        """True when the duration is within its budget."""
        return self.seconds <= self.budget

    def line(self) -> str:
        """`sc-001 12.3s of 600s (kwok, Kubernetes v1.35.4, chart floe-platform, scenario defaults)`."""
        sim = ", simulated" if self.simulated else ""
        return (f"{self.id} {self.seconds:.2f}s of {self.budget:g}s ({self.provider}, Kubernetes {self.kube_version}"
                f"{sim}, chart {self.chart}, scenario {self.scenario})")

    def to_json(self) -> str:
        """Serialised form, for a report's user_properties."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Timing:
        """The inverse of to_json (unknown keys ignored)."""
        data = json.loads(text)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


def write_timings(path: Path, timings: list[Timing]) -> None:
    """Write timings.json (a JSON list of rows) atomically: a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rows = [asdict(t) for t in sorted(timings, key=lambda t: (t.chart, t.id, t.scenario))]
    tmp.write_text(json.dumps(rows, indent=2) + "\n")
    tmp.replace(path)
