"""Registries: container images (ECR) and models (SageMaker model package groups)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, child
from mlplatform.spec.names import model_package_group_name, repository_name


@dataclass(frozen=True)
class ContainerRegistryArgs:
    """Settings of the ECR repositories.

    Attributes:
        kms_key_arn: the platform key; images are encrypted with it.
        repositories: repository names, created as ``<platform>/<name>``.
        scan_on_push: scan every pushed image for vulnerabilities.
        immutable_tags: forbid overwriting an image tag.
        keep_images: expire the oldest images beyond this many per repository.
    """

    kms_key_arn: pulumi.Input[str]
    repositories: Sequence[str]
    scan_on_push: bool
    immutable_tags: bool
    keep_images: int


class ContainerRegistry(pulumi.ComponentResource):
    """ECR repositories for training and serving images: KMS, scan on push, immutable tags, lifecycle."""

    repository_urls: dict[str, pulumi.Output[str]]
    repository_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: ContainerRegistryArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:registry:ContainerRegistry", name, {}, opts)
        self.repository_urls = {}
        self.repository_arns = {}
        lifecycle = json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "description": f"keep the newest {args.keep_images} images",
                        "selection": {
                            "tagStatus": "any",
                            "countType": "imageCountMoreThan",
                            "countNumber": args.keep_images,
                        },
                        "action": {"type": "expire"},
                    }
                ]
            },
            sort_keys=True,
        )
        for repo in args.repositories:
            repository = aws.ecr.Repository(
                f"{name}-{repo}",
                name=repository_name(platform.name, repo),
                image_tag_mutability="IMMUTABLE" if args.immutable_tags else "MUTABLE",
                image_scanning_configuration={"scan_on_push": args.scan_on_push},
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
                force_delete=platform.allow_destroy_data,
                tags=platform.tags_for("container_registry"),
                opts=child(self, protect=platform.protect),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{repo}-lifecycle", repository=repository.name, policy=lifecycle, opts=child(self)
            )
            self.repository_urls[repo] = repository.repository_url
            self.repository_arns[repo] = repository.arn
        self.register_outputs({"repository_urls": self.repository_urls})


@dataclass(frozen=True)
class ModelRegistryArgs:
    """Settings of the model registry.

    Attributes:
        groups: model package groups, created as ``<platform>-<name>``.
        approval: ``manual`` (new versions wait for a person) or ``automatic``; the pipeline registers with
            the matching approval status.
        alarm_topic_arn: notify this SNS topic when a model version's approval status changes; ``None``
            for no notification rule.
    """

    groups: Sequence[str]
    approval: str
    alarm_topic_arn: pulumi.Input[str] | None


class ModelRegistry(pulumi.ComponentResource):
    """SageMaker model package groups and an EventBridge rule on model-version approval changes."""

    group_names: dict[str, pulumi.Output[str]]
    approval_rule_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: ModelRegistryArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:registry:ModelRegistry", name, {}, opts)
        tags = platform.tags_for("registry")
        self.group_names = {}
        for group in args.groups:
            resource = aws.sagemaker.ModelPackageGroup(
                f"{name}-{group}",
                model_package_group_name=model_package_group_name(platform.name, group),
                model_package_group_description=f"{group} models of {platform.name} ({args.approval} approval)",
                tags=tags,
                opts=child(self, protect=platform.protect),
            )
            self.group_names[group] = resource.model_package_group_name
        self.approval_rule_name = None
        if args.alarm_topic_arn is not None:
            names = [model_package_group_name(platform.name, group) for group in args.groups]
            rule = aws.cloudwatch.EventRule(
                f"{name}-approval",
                name=f"{platform.name}-model-approval",
                description="A model version's approval status changed in the platform's registry",
                event_pattern=json.dumps(
                    {
                        "source": ["aws.sagemaker"],
                        "detail-type": ["SageMaker Model Package State Change"],
                        "detail": {"ModelPackageGroupName": names},
                    },
                    sort_keys=True,
                ),
                tags=tags,
                opts=child(self),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-approval-notify",
                rule=rule.name,
                target_id="notify",
                arn=args.alarm_topic_arn,
                opts=child(self),
            )
            self.approval_rule_name = rule.name
        self.register_outputs({"group_names": self.group_names, "approval_rule_name": self.approval_rule_name})
