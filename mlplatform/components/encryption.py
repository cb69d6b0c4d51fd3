"""Encryption: the platform's customer-managed KMS key and its alias."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, child, policy, statement

# Key administration, spelled out: a key policy with "kms:*" would let any IAM principal the account
# allows also schedule the key's deletion through a wildcard nobody reviewed.
_ADMIN_ACTIONS = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)
_USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")
TOPIC_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com")
"""The AWS services that publish to the platform's encrypted alarm topic (its topic policy admits the same)."""


@dataclass(frozen=True)
class EncryptionArgs:
    """Settings of the platform key.

    Attributes:
        key_rotation: rotate the key material every year (off is a security override).
        deletion_window_days: days a deleted key can still be recovered (7-30).
    """

    key_rotation: bool
    deletion_window_days: int


class Encryption(pulumi.ComponentResource):
    """A customer-managed KMS key for everything the platform stores, and its alias ``alias/<platform>``.

    The key policy delegates to IAM in this account (so the platform roles' own policies decide who uses
    the key) and lets exactly the AWS services the platform writes through use it, each only on behalf
    of this account: CloudWatch Logs (encrypted log groups), CloudWatch, EventBridge and AWS Budgets
    (publishing to the encrypted alarm topic).
    """

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: EncryptionArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:security:Encryption", name, {}, opts)
        tags = platform.tags_for("encryption")
        account = platform.account  # raises when unknown: a key policy is never written for any account
        root = f"arn:{platform.partition}:iam::{account}:root"
        same_account = {"StringEquals": {"aws:SourceAccount": account}}
        key_policy = policy(
            statement("KeyAdministrationByAccount", _ADMIN_ACTIONS, ["*"], principal={"AWS": root}),
            statement("KeyUseByAccountPrincipals", _USE_ACTIONS, ["*"], principal={"AWS": root}),
            statement(
                "CloudWatchLogsEncryption",
                ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
                ["*"],
                principal={"Service": f"logs.{platform.region}.amazonaws.com"},
                condition={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": platform.arn("logs", "log-group:*"),
                    }
                },
            ),
            # Every AWS service that publishes to the encrypted alarm topic needs the key to do so: CloudWatch
            # (metric alarms), EventBridge (drift, approval and pipeline rules) and AWS Budgets (budget alerts;
            # without this statement their notifications fail). Each only on behalf of this account.
            statement(
                "AlarmTopicPublishing",
                ("kms:Decrypt", "kms:GenerateDataKey*"),
                ["*"],
                principal={"Service": list(TOPIC_PUBLISHERS)},
                condition=same_account,
            ),
        )
        key = aws.kms.Key(
            f"{name}-key",
            description=f"mlplatform {platform.name}: encrypts artifacts, logs, images, features and endpoints",
            enable_key_rotation=args.key_rotation,
            deletion_window_in_days=args.deletion_window_days,
            policy=key_policy,
            tags=tags,
            opts=child(self, protect=platform.protect),
        )
        alias = aws.kms.Alias(
            f"{name}-alias", name=f"alias/{platform.name}", target_key_id=key.key_id, opts=child(self)
        )
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.register_outputs({"key_arn": key.arn, "key_id": key.key_id, "alias_name": alias.name})
