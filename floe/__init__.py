"""The floe CLI: Helm values from compiled artifacts (`floe helm generate`) and deploys (`floe deploy`)."""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"
#: The repository root (charts, fixtures and the pinned tools live under it).
REPO_ROOT = Path(__file__).resolve().parent.parent
CHARTS = REPO_ROOT / "charts"
