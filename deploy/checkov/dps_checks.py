"""The suite's own checkov checks, run by `make deploy-check` (--external-checks-dir deploy/checkov).

Checkov's built-in checks see that probes exist and that pods are restricted; these also hold the
rendered manifests to what the issue asks of this suite in particular.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class NamespaceEnforcesRestricted(BaseK8Check):
    """Every namespace we create enforces the restricted Pod Security Standard."""

    def __init__(self) -> None:
        super().__init__(
            name="Namespaces enforce the restricted Pod Security Standard",
            id="CKV_DPS_1",
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("Namespace",),
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        labels = (conf.get("metadata") or {}).get("labels") or {}
        if labels.get("pod-security.kubernetes.io/enforce") == "restricted":
            return CheckResult.PASSED
        return CheckResult.FAILED


class GrpcHealthProbes(BaseK8Check):
    """Servers are probed on the gRPC health service: "" for liveness, "readiness" for readiness."""

    def __init__(self) -> None:
        super().__init__(
            name="Deployments use native gRPC probes: liveness on service '', readiness on 'readiness'",
            id="CKV_DPS_2",
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("Deployment",),
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        containers = (
            ((conf.get("spec") or {}).get("template") or {}).get("spec") or {}
        ).get("containers") or []
        if not containers:
            return CheckResult.FAILED
        for container in containers:
            liveness = (container.get("livenessProbe") or {}).get("grpc")
            readiness = (container.get("readinessProbe") or {}).get("grpc")
            if not liveness or liveness.get("service", "") != "":
                return CheckResult.FAILED
            if not readiness or readiness.get("service") != "readiness":
                return CheckResult.FAILED
        return CheckResult.PASSED


namespace_enforces_restricted = NamespaceEnforcesRestricted()
grpc_health_probes = GrpcHealthProbes()
