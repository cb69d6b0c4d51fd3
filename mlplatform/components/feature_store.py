"""Feature store: SageMaker feature groups with KMS-encrypted stores and a Glue catalog database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, child
from mlplatform.spec import names


@dataclass(frozen=True)
class FeatureGroupArgs:
    """One feature group.

    Attributes:
        name: short name; the group is created as ``<platform>-<name>``.
        record_identifier: the feature that identifies a record.
        event_time: the feature holding each record's event time.
        features: ``(name, type)`` pairs, type ``Integral``, ``Fractional`` or ``String``.
        online: keep an online store (KMS).
        offline: keep an offline store in the artifact bucket (KMS), catalogued in Glue.
    """

    name: str
    record_identifier: str
    event_time: str
    features: Sequence[tuple[str, str]]
    online: bool
    offline: bool


@dataclass(frozen=True)
class FeatureStoreArgs:
    """Settings of the feature store.

    Attributes:
        role_arn: the role SageMaker writes the offline store as (the execution role).
        kms_key_arn: the platform key.
        bucket_name: the artifact bucket; offline stores live under ``feature-store/``.
        groups: the feature groups.
    """

    role_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    groups: Sequence[FeatureGroupArgs]


class FeatureStore(pulumi.ComponentResource):
    """A Glue database for the offline stores' tables and one SageMaker feature group per declared group."""

    database_name: pulumi.Output[str]
    group_names: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: FeatureStoreArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:data:FeatureStore", name, {}, opts)
        tags = platform.tags_for("feature_store")
        database = aws.glue.CatalogDatabase(
            f"{name}-catalog",
            name=names.feature_catalog_database(platform.name),
            description=f"Offline feature store tables of {platform.name}",
            tags=tags,
            opts=child(self),
        )
        self.group_names = {}
        for group in args.groups:
            physical = names.feature_group_name(platform.name, group.name)
            offline = None
            if group.offline:
                offline = {
                    "s3_storage_config": {
                        "s3_uri": pulumi.Output.concat("s3://", args.bucket_name, f"/{names.FEATURE_STORE_PREFIX}"),
                        "kms_key_id": args.kms_key_arn,
                    },
                    "data_catalog_config": {
                        "catalog": "AwsDataCatalog",
                        "database": database.name,
                        "table_name": physical.replace("-", "_"),
                    },
                    "disable_glue_table_creation": False,
                }
            online = (
                {"enable_online_store": True, "security_config": {"kms_key_id": args.kms_key_arn}}
                if group.online
                else None
            )
            resource = aws.sagemaker.FeatureGroup(
                f"{name}-{group.name}",
                feature_group_name=physical,
                record_identifier_feature_name=group.record_identifier,
                event_time_feature_name=group.event_time,
                feature_definitions=[
                    {"feature_name": feature, "feature_type": kind} for feature, kind in group.features
                ],
                offline_store_config=offline,
                online_store_config=online,
                role_arn=args.role_arn,
                description=f"{group.name} features of {platform.name}",
                tags=tags,
                opts=child(self, protect=platform.protect),
            )
            self.group_names[group.name] = resource.feature_group_name
        self.database_name = database.name
        self.register_outputs({"database_name": database.name, "group_names": self.group_names})
