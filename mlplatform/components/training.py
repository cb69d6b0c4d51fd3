"""Training: the settings training jobs share — role, output location, network, encryption, limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from mlplatform.components.common import Platform
from mlplatform.spec import names


@dataclass(frozen=True)
class TrainingArgs:
    """What every training job on the platform uses.

    Attributes:
        role_arn: the training role jobs run as.
        bucket_name: the artifact bucket; model artifacts go under ``training/``.
        kms_key_arn: encrypts job volumes and outputs.
        subnet_ids: private subnets jobs run in (empty: no VPC).
        security_group_ids: the workload security group.
        allowed_instance_types: instance types jobs may use.
        max_parallel_jobs: training jobs that may run at once (the pipeline's parallelism).
        spot: use managed spot training.
        max_runtime_hours: stop a job after this long.
        volume_size_gb: training volume size.
    """

    role_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    allowed_instance_types: Sequence[str]
    max_parallel_jobs: int
    spot: bool
    max_runtime_hours: int
    volume_size_gb: int


class Training(pulumi.ComponentResource):
    """Training job settings as outputs, so the pipeline and data scientists' own jobs agree.

    It creates no cloud resource of its own: training jobs are started by the pipeline or by users, and
    what they must share (role, output path, VPC, KMS, inter-container encryption, limits) is published
    here as the ``training`` stack output.
    """

    settings: pulumi.Output[dict[str, object]]

    def __init__(
        self, name: str, args: TrainingArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:ml:Training", name, {}, opts)
        self.args = args
        self.output_path = pulumi.Output.concat("s3://", args.bucket_name, f"/{names.TRAINING_PREFIX}")
        self.settings = pulumi.Output.from_input(
            {
                "role_arn": args.role_arn,
                "output_path": self.output_path,
                "volume_kms_key_id": args.kms_key_arn,
                "output_kms_key_id": args.kms_key_arn,
                "subnets": list(args.subnet_ids),
                "security_group_ids": list(args.security_group_ids),
                "allowed_instance_types": list(args.allowed_instance_types),
                "max_parallel_jobs": args.max_parallel_jobs,
                "use_spot_instances": args.spot,
                "max_runtime_seconds": args.max_runtime_hours * 3600,
                "volume_size_gb": args.volume_size_gb,
                "enable_inter_container_traffic_encryption": True,
                "enable_network_isolation": True,
            }
        )
        self.register_outputs({"settings": self.settings})
