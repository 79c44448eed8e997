"""Cluster flows: install, upgrade, rollback, `helm test`, job launch, each timed, on any provider."""
