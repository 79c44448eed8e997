"""The Polaris catalog plugin: floe-platform's `polaris` values."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from floe.models import Strict


class PolarisSettings(Strict):
    """Settings of the Polaris plugin in compiled artifacts (`plugins.catalog.settings`)."""

    realm: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")] = "POLARIS"
    replicas: Annotated[int, Field(ge=1, le=20)] = 1
    persistence: Literal["relational-jdbc", "in-memory"] = "relational-jdbc"
    client_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "root"


class PolarisCatalogPlugin:
    """The Iceberg REST catalog by Apache Polaris: realm, replicas and persistence."""

    def __init__(self, settings: dict[str, Any]) -> None:
        """Validate the plugin's settings (strict: unknown keys are refused)."""
        self.settings = PolarisSettings.model_validate(settings, strict=False)

    def get_helm_values(self) -> dict[str, Any]:
        """Values for the floe-platform chart's `polaris` section."""
        s = self.settings
        return {"polaris": {"enabled": True, "realm": s.realm, "replicaCount": s.replicas,
                            "persistence": {"type": s.persistence},
                            "bootstrap": {"clientId": s.client_id}}}
