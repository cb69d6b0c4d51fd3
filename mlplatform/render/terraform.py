"""An offline plan as Terraform plan JSON, for the scanners security teams already run (Checkov, Trivy).

pulumi-aws is bridged from the Terraform AWS provider, so every resource the blueprints declare *is* a
Terraform resource under another name. The export writes the document ``terraform show -json`` would
print for a plan that creates them (https://developer.hashicorp.com/terraform/internals/json-format):

* ``type``: the Terraform type each pulumi-aws token is bridged from, from an explicit table — a token
  that is not in it is an error, never a guess, because a scanner silently skips types it does not know.
* ``values``: Pulumi's camelCase property names back in Terraform's snake_case. The bridge renamed two
  things, and both matter to scanners: it pluralised list-of-block names (``rule`` -> ``rules``), undone
  per attribute by :data:`RENAMES`; and it flattened blocks with at most one item into objects, which
  Terraform represents as one-element lists. Which objects are blocks and which are maps (``tags``,
  ``environment``) is read from pulumi-aws's own typed ``*Args`` classes.
* Values only the cloud knows (an ARN, a bucket's id) are left out of ``values`` and marked in
  ``after_unknown``, exactly as Terraform does — except those the offline plan derives (ARNs from names,
  account, region and partition; ``known-after-apply`` placeholders where AWS assigns an id, see
  :mod:`mlplatform.engine.offline`), which go into ``values`` so that every IAM policy document is
  concrete and scanners' IAM checks run on it. Secrets are left out and marked in ``after_sensitive``
  (mlplatform never writes a secret in plaintext).
* ``configuration.root_module.resources[].expressions.<attr>.references`` come from each input's Pulumi
  property dependencies. Checkov builds its resource graph from them: without them an
  ``aws_s3_bucket`` is not connected to its separate encryption, versioning, public-access-block and
  logging resources and every bucket "fails" those checks.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from typing import Any

from mlplatform.engine.offline import OfflinePlan, PlannedResource
from mlplatform.engine.values import UNKNOWN, is_secret
from mlplatform.errors import MlplatformError

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"
"""The Terraform release whose plan JSON (format 1.2) this document follows."""
PROVIDER_NAME = "registry.terraform.io/hashicorp/aws"

TERRAFORM_TYPES: dict[str, str] = {
    "aws:appautoscaling/policy:Policy": "aws_appautoscaling_policy",
    "aws:appautoscaling/target:Target": "aws_appautoscaling_target",
    "aws:budgets/budget:Budget": "aws_budgets_budget",
    "aws:cloudwatch/dashboard:Dashboard": "aws_cloudwatch_dashboard",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    "aws:codebuild/project:Project": "aws_codebuild_project",
    "aws:codepipeline/pipeline:Pipeline": "aws_codepipeline",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "aws_ecr_lifecycle_policy",
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:glue/catalogDatabase:CatalogDatabase": "aws_glue_catalog_database",
    "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings": "aws_glue_data_catalog_encryption_settings",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketNotification:BucketNotification": "aws_s3_bucket_notification",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": "aws_sagemaker_data_quality_job_definition",
    "aws:sagemaker/domain:Domain": "aws_sagemaker_domain",
    "aws:sagemaker/endpoint:Endpoint": "aws_sagemaker_endpoint",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "aws_sagemaker_endpoint_configuration",
    "aws:sagemaker/featureGroup:FeatureGroup": "aws_sagemaker_feature_group",
    "aws:sagemaker/model:Model": "aws_sagemaker_model",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "aws_sagemaker_model_package_group",
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": "aws_sagemaker_monitoring_schedule",
    "aws:sagemaker/notebookInstance:NotebookInstance": "aws_sagemaker_notebook_instance",
    "aws:sagemaker/pipeline:Pipeline": "aws_sagemaker_pipeline",
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
}
"""pulumi-aws type token -> the Terraform resource type it is bridged from (every type the blueprints use)."""

RENAMES: dict[str, dict[str, str]] = {
    # Per Terraform type: Pulumi property path (camelCase keys joined by ".", list indices dropped) -> the
    # Terraform attribute name, where the bridge pluralised a list or list-of-blocks name. Every other key
    # is Pulumi's name in snake_case, which is Terraform's. Names from the Terraform AWS provider's docs.
    "aws_appautoscaling_policy": {
        "stepScalingPolicyConfiguration.stepAdjustments": "step_adjustment",
        "predictiveScalingPolicyConfiguration.metricSpecifications": "metric_specification",
    },
    "aws_budgets_budget": {
        "costFilters": "cost_filter",
        "notifications": "notification",
        "plannedLimits": "planned_limit",
    },
    "aws_cloudwatch_event_target": {
        "ecsTarget.capacityProviderStrategies": "capacity_provider_strategy",
        "ecsTarget.orderedPlacementStrategies": "ordered_placement_strategy",
        "ecsTarget.placementConstraints": "placement_constraint",
        "sagemakerPipelineTarget.pipelineParameterLists": "pipeline_parameter_list",
    },
    "aws_cloudwatch_metric_alarm": {"metricQueries": "metric_query"},
    "aws_codebuild_project": {
        "environment.environmentVariables": "environment_variable",
        "secondarySourceVersions": "secondary_source_version",
        "buildBatchConfig.restrictions.computeTypesAlloweds": "compute_types_allowed",
    },
    "aws_codepipeline": {
        "artifactStores": "artifact_store",
        "stages": "stage",
        "stages.actions": "action",
        "stages.beforeEntry.condition.rules": "rule",
        "stages.onFailure.condition.rules": "rule",
        "stages.onSuccess.condition.rules": "rule",
        "triggers": "trigger",
        "triggers.gitConfiguration.pullRequests": "pull_request",
        "triggers.gitConfiguration.pushes": "push",
        "variables": "variable",
    },
    "aws_ecr_repository": {
        "encryptionConfigurations": "encryption_configuration",
        "imageTagMutabilityExclusionFilters": "image_tag_mutability_exclusion_filter",
    },
    "aws_glue_catalog_database": {"createTableDefaultPermissions": "create_table_default_permission"},
    "aws_iam_openid_connect_provider": {"clientIdLists": "client_id_list", "thumbprintLists": "thumbprint_list"},
    "aws_iam_role": {"inlinePolicies": "inline_policy"},
    "aws_route_table": {"routes": "route"},
    "aws_s3_bucket": {
        "corsRules": "cors_rule",
        "grants": "grant",
        "lifecycleRules": "lifecycle_rule",
        "lifecycleRules.noncurrentVersionTransitions": "noncurrent_version_transition",
        "lifecycleRules.transitions": "transition",
    },
    "aws_s3_bucket_lifecycle_configuration": {
        "rules": "rule",
        "rules.noncurrentVersionTransitions": "noncurrent_version_transition",
        "rules.transitions": "transition",
    },
    "aws_s3_bucket_notification": {"lambdaFunctions": "lambda_function", "queues": "queue", "topics": "topic"},
    "aws_s3_bucket_server_side_encryption_configuration": {"rules": "rule"},
    "aws_sagemaker_domain": {
        "defaultUserSettings.customFileSystemConfigs": "custom_file_system_config",
        "defaultUserSettings.jupyterServerAppSettings.codeRepositories": "code_repository",
        "defaultUserSettings.jupyterLabAppSettings.codeRepositories": "code_repository",
        "defaultUserSettings.jupyterLabAppSettings.customImages": "custom_image",
        "defaultUserSettings.kernelGatewayAppSettings.customImages": "custom_image",
        "defaultUserSettings.codeEditorAppSettings.customImages": "custom_image",
        "defaultUserSettings.rSessionAppSettings.customImages": "custom_image",
        "defaultSpaceSettings.customFileSystemConfigs": "custom_file_system_config",
        "defaultSpaceSettings.jupyterServerAppSettings.codeRepositories": "code_repository",
        "defaultSpaceSettings.jupyterLabAppSettings.codeRepositories": "code_repository",
        "defaultSpaceSettings.jupyterLabAppSettings.customImages": "custom_image",
        "defaultSpaceSettings.kernelGatewayAppSettings.customImages": "custom_image",
    },
    "aws_sagemaker_endpoint_configuration": {
        "productionVariants.routingConfigs": "routing_config",
        "shadowProductionVariants.routingConfigs": "routing_config",
        "asyncInferenceConfig.outputConfig.notificationConfig.includeInferenceResponseIns": (
            "include_inference_response_in"
        ),
    },
    "aws_sagemaker_feature_group": {"featureDefinitions": "feature_definition"},
    "aws_sagemaker_model": {
        "containers": "container",
        "containers.additionalModelDataSources": "additional_model_data_source",
        "primaryContainer.additionalModelDataSources": "additional_model_data_source",
    },
}

_ARN_ATTRIBUTE = re.compile(r"(arn|arns|kms_key_id|kms_master_key_id|kms_key|encryption_key)$")
_ADDRESS_NAME = re.compile(r"[^A-Za-z0-9_-]")


class ExportError(MlplatformError):
    """The plan cannot be exported as Terraform plan JSON."""

    headline = "export failed"


class UnsupportedExportTypeError(ExportError):
    """A resource type has no Terraform counterpart in the export's table."""

    headline = "unsupported resource type for export"


def terraform_plan(plan: OfflinePlan) -> dict[str, Any]:
    """The Terraform plan JSON document (format 1.2) for creating every resource in ``plan``.

    Raises:
        ExportError: the plan has no resources (an empty export would pass every scanner).
        UnsupportedExportTypeError: a resource's type is not in :data:`TERRAFORM_TYPES`.
    """
    if not plan.resources:
        raise ExportError(
            f"environment {plan.env!r} (blueprint {plan.blueprint}) declares no resources; refusing to export an "
            "empty plan, which every scanner would pass."
        )
    unknown = sorted({f"{res.type} ({res.name})" for res in plan.resources if res.type not in TERRAFORM_TYPES})
    if unknown:
        raise UnsupportedExportTypeError(
            "no Terraform type is known for: " + ", ".join(unknown) + ". Add the type the pulumi-aws resource is "
            "bridged from to TERRAFORM_TYPES in mlplatform/render/terraform.py.",
        )
    addresses = _addresses(plan.resources)
    derived = {addresses[res.urn]: set(res.derived.values()) for res in plan.resources}
    planned, changes, configured = [], [], []
    for res in sorted(plan.resources, key=lambda r: addresses[r.urn]):
        tf_type, name = addresses[res.urn].split(".", 1)
        shaped = _shape(res.inputs, res.type, tf_type, "")
        values = _known(shaped)
        after_unknown = {**_marks(shaped, lambda v: v == UNKNOWN), "id": True}
        planned.append(
            {
                "address": addresses[res.urn],
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": PROVIDER_NAME,
                "schema_version": 0,
                "values": values,
                "sensitive_values": _marks(shaped, is_secret),
            }
        )
        changes.append(
            {
                "address": addresses[res.urn],
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": PROVIDER_NAME,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": after_unknown,
                    "before_sensitive": False,
                    "after_sensitive": _marks(shaped, is_secret),
                },
            }
        )
        config: dict[str, Any] = {
            "address": addresses[res.urn],
            "mode": "managed",
            "type": tf_type,
            "name": name,
            "provider_config_key": "aws",
            "expressions": _expressions(res, shaped, addresses, tf_type, derived),
            "schema_version": 0,
        }
        depends_on = sorted(
            {addresses[urn] for urn in res.dependencies if urn in addresses} - _referenced(res, addresses)
        )
        if depends_on:
            config["depends_on"] = depends_on
        configured.append(config)
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {
                "aws": {
                    "name": "aws",
                    "full_name": PROVIDER_NAME,
                    "expressions": {"region": {"constant_value": plan.region}},
                }
            },
            "root_module": {"resources": configured},
        },
        "applyable": True,
        "complete": True,
        "errored": False,
    }


# ---- addresses ------------------------------------------------------------------------------------


def _addresses(resources: list[PlannedResource]) -> dict[str, str]:
    """URN -> ``<tf_type>.<name>``: the Pulumi name made a valid Terraform name, unique per type."""
    taken: set[str] = set()
    result = {}
    for res in resources:
        base = _ADDRESS_NAME.sub("_", res.name)
        if not base or not (base[0].isalpha() or base[0] == "_"):
            base = f"_{base}"
        address = f"{TERRAFORM_TYPES[res.type]}.{base}"
        suffix = 2
        while address in taken:
            address = f"{TERRAFORM_TYPES[res.type]}.{base}_{suffix}"
            suffix += 1
        taken.add(address)
        result[res.urn] = address
    return result


# ---- values ---------------------------------------------------------------------------------------


def snake(name: str) -> str:
    """Pulumi's camelCase property name in snake_case (``kmsKeyId`` -> ``kms_key_id``, ``s3Uri`` -> ``s3_uri``)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _shape(value: Any, token: str, tf_type: str, path: str) -> Any:
    """Inputs in Terraform's shape: snake_case keys, blocks as lists, maps kept; unknowns and secrets in place."""
    if is_secret(value) or value == UNKNOWN:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire protocol carries every number as a double
    if isinstance(value, list):
        return [_shape(item, token, tf_type, path) for item in value]
    if not isinstance(value, dict):
        return value
    if path and _kind(token, path) == "map":
        return {key: _numbers(item) for key, item in value.items()}  # map keys are data, not names
    shaped = {}
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        tf_key = RENAMES.get(tf_type, {}).get(child, snake(key))
        converted = _shape(item, token, tf_type, child)
        if isinstance(item, dict) and _kind(token, child) != "map":
            converted = [converted]  # a block with at most one item: Terraform lists it
        shaped[tf_key] = converted
    return shaped


def _numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict) and not is_secret(value):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return value


def _known(value: Any) -> Any:
    """``values``: unknown and secret leaves left out of objects and ``null`` in lists."""
    if isinstance(value, dict) and not is_secret(value):
        return {key: _known(item) for key, item in value.items() if not (item == UNKNOWN or is_secret(item))}
    if isinstance(value, list):
        return [None if (item == UNKNOWN or is_secret(item)) else _known(item) for item in value]
    return value


def _marks(value: Any, test: Any) -> Any:
    """``after_unknown`` / ``after_sensitive``: ``true`` where ``test`` holds, mirroring the value's shape."""
    if test(value):
        return True
    if isinstance(value, dict):
        marks = {key: _marks(item, test) for key, item in value.items()}
        return {key: mark for key, mark in marks.items() if mark not in (False, {}, [])}
    if isinstance(value, list):
        marks_list = [_marks(item, test) for item in value]
        return marks_list if any(mark not in (False, {}, []) for mark in marks_list) else []
    return False


# ---- references -----------------------------------------------------------------------------------


def _referenced(res: PlannedResource, addresses: dict[str, str]) -> set[str]:
    return {addresses[urn] for urns in res.property_dependencies.values() for urn in urns if urn in addresses}


def _expressions(
    res: PlannedResource,
    shaped: dict[str, Any],
    addresses: dict[str, str],
    tf_type: str,
    derived: dict[str, set[str]],
) -> dict[str, Any]:
    """Each input's references to other resources, where Terraform's configuration would show them.

    Pulumi records dependencies per top-level input. A scalar or list input refers to them directly
    (``bucket = aws_s3_bucket.x.id``); inside a block the references go on the values that are unknown
    until those resources exist, or that the offline plan derived from them
    (``rule[0].apply_server_side_encryption_by_default[0].kms_master_key_id``).
    """
    expressions: dict[str, Any] = {}
    for key, urns in res.property_dependencies.items():
        targets = [addresses[urn] for urn in urns if urn in addresses]
        if not targets:
            continue
        tf_key = RENAMES.get(tf_type, {}).get(key, snake(key))
        if tf_key not in shaped:
            continue
        value = shaped[tf_key]
        if _is_block_list(value):
            from_targets = {UNKNOWN}.union(*(derived.get(target, set()) for target in targets))
            nested = _nested_references(value, targets, from_targets)
            if nested:
                expressions[tf_key] = nested
        else:
            expressions[tf_key] = {"references": _references(targets, tf_key)}
    return expressions


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(item, dict) and not is_secret(item) for item in value)


def _nested_references(value: Any, targets: list[str], from_targets: set[str]) -> Any:
    """Mirror of a list of blocks with ``{"references": ...}`` at every leaf whose value came from ``targets``
    (unknown, or one of their derived values); ``None`` if there is none."""
    blocks = []
    found = False
    for block in value:
        expression: dict[str, Any] = {}
        if isinstance(block, dict):
            for key, item in block.items():
                if _is_block_list(item):
                    nested = _nested_references(item, targets, from_targets)
                    if nested:
                        expression[key] = nested
                elif _from(item, from_targets):
                    expression[key] = {"references": _references(targets, key)}
        found = found or bool(expression)
        blocks.append(expression)
    return blocks if found else None


def _from(item: Any, values: set[str]) -> bool:
    if isinstance(item, list):
        return any(_from(element, values) for element in item)
    return isinstance(item, str) and item in values


def _references(targets: list[str], attribute: str) -> list[str]:
    """Terraform lists ``<address>.<attribute>`` then ``<address>`` for each referenced resource.

    Pulumi knows only which resources a whole top-level input came from; when a block draws on several
    (a data-capture config's KMS key and its S3 bucket), each attribute keeps the resources whose type
    shares a word with its name (``kms_key_id`` -> ``aws_kms_key``), or all of them when none does.
    """
    suffix = "arn" if _ARN_ATTRIBUTE.search(attribute) else "id"
    words = {word.rstrip("s") for word in attribute.split("_")} - {"id", "arn", ""}
    matching = [a for a in targets if words & {word.rstrip("s") for word in a.split(".")[0].split("_")[1:]}]
    references = []
    for address in matching or targets:
        references += [f"{address}.{suffix}", address]
    return references


# ---- pulumi-aws type information --------------------------------------------------------------------


def _kind(token: str, path: str) -> str:
    """``"map"``, ``"block"`` or ``"other"`` for the property at ``path`` (camelCase keys joined by ``.``)."""
    cls = _args_class(token)
    for key in path.split("."):
        if cls is None:
            return "other"
        annotation = _properties(cls).get(key)
        if annotation is None:
            return "other"
        text = str(annotation)
        refs = re.findall(r"ForwardRef\('(\w+Args)'\)", text) or re.findall(r"'(\w+Args)'", text)
        if not refs:
            return "map" if "Mapping[" in text else "other"
        cls = getattr(sys.modules[cls.__module__], refs[0], None)
    return "block"


@functools.cache
def _args_class(token: str) -> type | None:
    """The pulumi-aws ``*Args`` class of a resource type token (``aws:s3/bucket:Bucket`` -> ``BucketArgs``)."""
    _, module_path, name = token.split(":")
    try:
        module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    except ImportError:
        return None
    # A resource whose name clashes with a nested type's gets ``<Name>InitArgs`` (s3 has both a
    # BucketServerSideEncryptionConfiguration resource and the Bucket's nested type of that name).
    found = getattr(module, f"{name}InitArgs", None) or getattr(module, f"{name}Args", None)
    return found if isinstance(found, type) else None


@functools.cache
def _properties(cls: type) -> dict[str, Any]:
    """Pulumi property name -> type annotation of an ``*Args`` class (from its ``pulumi.getter`` properties)."""
    result: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for attribute in vars(klass).values():
            if isinstance(attribute, property) and attribute.fget is not None:
                # pulumi.getter(name=...) records the Pulumi property name only in this private attribute; the
                # SDK has no public lookup from a typed Args class to property names (tests/unit/
                # test_sdk_assumptions.py checks the attribute is still there).
                name = getattr(attribute.fget, "_pulumi_name", None)
                if isinstance(name, str):
                    result[name] = attribute.fget.__annotations__.get("return")
    return result
