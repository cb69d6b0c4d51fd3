"""The :class:`PipelineSettings` values the program passes for the spec's default settings.

``PipelineSettings`` has no defaults of its own (the spec models hold them); tests that build a definition
start from these and change what they exercise.
"""

from __future__ import annotations

from typing import Any

from mlplatform.spec.models import PipelinesSpec, TrainingSpec
from mlplatform.spec.names import INCOMING_PREFIX


def spec_defaults() -> dict[str, Any]:
    """Every ``PipelineSettings`` field a spec decides, as the program sets it for the default spec."""
    pipelines, training = PipelinesSpec(), TrainingSpec()
    return {
        "approval_status": "PendingManualApproval",
        "metric_name": pipelines.approval_metric.name,
        "threshold": pipelines.approval_metric.threshold,
        "comparison": "GreaterThanOrEqualTo",
        "processing_instance_type": pipelines.processing_instance_type,
        "training_instance_type": pipelines.training_instance_type,
        "input_prefix": INCOMING_PREFIX,
        "subnets": [],
        "security_group_ids": [],
        "spot": training.spot,
        "max_runtime_seconds": training.max_runtime_hours * 3600,
        "volume_size_gb": training.volume_size_gb,
        "tags": {},
    }
