"""Shared by the cluster and e2e tiers: one cluster per session (fixtures in conformance.clusterfixtures)."""

pytest_plugins = ["conformance.clusterfixtures"]
