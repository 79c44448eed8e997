"""Static storage for clusters without a provisioner (kwok): a default StorageClass and a pool of PVs.

kwok simulates kubelets but no CSI driver, so a StatefulSet's claims would stay Pending. The pool lets the
real PV controller bind claims exactly as it does on a cluster with pre-provisioned volumes.
"""

from __future__ import annotations

import json

from conformance.cluster.base import Cluster

STORAGE_CLASS = "conformance-static"


def storage_objects(count: int, size: str = "100Gi") -> list[dict[str, object]]:
    """A default no-provisioner StorageClass with immediate binding, and `count` PersistentVolumes."""
    sc: dict[str, object] = {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Delete",
    }
    pvs: list[dict[str, object]] = [{
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": f"{STORAGE_CLASS}-{i:02d}"},
        "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                 "storageClassName": STORAGE_CLASS, "persistentVolumeReclaimPolicy": "Retain",
                 "hostPath": {"path": f"/var/lib/{STORAGE_CLASS}/{i:02d}"}},  # never mounted: kwok runs no pods
    } for i in range(count)]
    return [sc, *pvs]


def provision(cluster: Cluster, count: int = 12) -> None:
    """Create the StorageClass and PV pool (idempotent)."""
    doc = {"apiVersion": "v1", "kind": "List", "items": storage_objects(count)}
    cluster.kubectl("apply", "--filename", "-", input_text=json.dumps(doc))
