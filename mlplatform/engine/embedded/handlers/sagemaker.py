"""SageMaker: model registry, models, endpoints, feature store, pipelines and data-quality monitoring.

Most SageMaker resources are immutable: the Terraform provider marks every argument ForceNew except ``tags``
for models, endpoint configurations, model package groups and monitoring job definitions, so those handlers only
create, read, retag and delete. The mutable ones (endpoint, pipeline, monitoring schedule, a feature group's
throughput) update through the service's ``Update*`` call. The shared
machinery is in ``sagemaker_common.py``; Studio domains and notebook instances in ``sagemaker_studio.py``.

Some of these calls are not implemented by moto 5.2.5 (``UpdateEndpoint``, ``DeleteFeatureGroup``, the
monitoring-schedule calls, ...); mlplatform's emulator server adds them (``mlplatform.emulator.patches``).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext, is_set
from mlplatform.engine.embedded.handlers.common import (
    same_policy,
    tag_list,
)
from mlplatform.engine.embedded.handlers.sagemaker_common import (
    WAIT_SECONDS,
    WAITER_DELAY,
    SageMakerHandler,
    arn_of,
    list_tags,
    stale,
    sync_tags,
    wait_for,
)
from mlplatform.engine.embedded.handlers.waiting import wait_until


class ModelPackageGroupHandler(SageMakerHandler):
    """The model registry's group; id = the group name."""

    type = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
    name_key = "modelPackageGroupName"
    kind = "model-package-group"
    describe_op = "describe_model_package_group"
    delete_op = "delete_model_package_group"
    name_param = "ModelPackageGroupName"
    fields = ("modelPackageGroupDescription",)
    implemented = frozenset({"modelPackageGroupName", *fields})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        args: dict[str, Any] = {"ModelPackageGroupName": name, "Tags": tag_list(self._create_tags(ctx, inputs))}
        args.update(self._request(ctx, "CreateModelPackageGroup", inputs, self.fields))
        arn = ctx.aws.client("sagemaker").create_model_package_group(**args)["ModelPackageGroupArn"]
        return name, {**self._outputs(ctx, name, inputs), "arn": arn}


class ModelHandler(SageMakerHandler):
    """An inference model (container image + artifacts); id = the model name. Immutable but for tags."""

    type = "aws:sagemaker/model:Model"
    name_key = "name"
    kind = "model"
    describe_op = "describe_model"
    delete_op = "delete_model"
    name_param = "ModelName"
    fields = ("executionRoleArn", "primaryContainer", "containers", "vpcConfig", "enableNetworkIsolation")
    implemented = frozenset({"name", "inferenceExecutionConfig", *fields})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        args: dict[str, Any] = {"ModelName": name, "Tags": tag_list(self._create_tags(ctx, inputs))}
        args.update(self._request(ctx, "CreateModel", inputs, (*self.fields, "inferenceExecutionConfig")))
        arn = ctx.aws.client("sagemaker").create_model(**args)["ModelArn"]
        return name, {**self._outputs(ctx, name, inputs), "arn": arn}


class EndpointConfigurationHandler(SageMakerHandler):
    """Production variants and data capture for an endpoint; id = the name. Immutable but for tags."""

    type = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    name_key = "name"
    kind = "endpoint-config"
    describe_op = "describe_endpoint_config"
    delete_op = "delete_endpoint_config"
    name_param = "EndpointConfigName"
    fields = ("kmsKeyArn", "productionVariants", "shadowProductionVariants", "dataCaptureConfig",
              "asyncInferenceConfig", "executionRoleArn")  # fmt: skip
    renames: ClassVar[dict[str, str]] = {"kmsKeyArn": "KmsKeyId"}  # Terraform's kms_key_arn
    name_prefix_key = "namePrefix"
    implemented = frozenset({"name", "namePrefix", *fields})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        args: dict[str, Any] = {"EndpointConfigName": name, "Tags": tag_list(self._create_tags(ctx, inputs))}
        args.update(self._request(ctx, "CreateEndpointConfig", inputs, self.fields))
        arn = ctx.aws.client("sagemaker").create_endpoint_config(**args)["EndpointConfigArn"]
        return name, {**self._outputs(ctx, name, inputs), "arn": arn}


class EndpointHandler(SageMakerHandler):
    """A hosted endpoint; id = the name. A new endpoint configuration deploys through ``UpdateEndpoint``."""

    type = "aws:sagemaker/endpoint:Endpoint"
    name_key = "name"
    kind = "endpoint"
    describe_op = "describe_endpoint"
    delete_op = "delete_endpoint"
    name_param = "EndpointName"
    # DescribeEndpoint does not return the requested deploymentConfig, so only the configuration is read.
    fields = ("endpointConfigName",)
    implemented = frozenset({"name", "endpointConfigName", "deploymentConfig"})

    def _in_service(self, ctx: StepContext, name: str) -> None:
        wait_until(ctx.aws.client("sagemaker"), "endpoint_in_service", what=f"endpoint {name} to be InService",
                   timeout=WAIT_SECONDS, delay=WAITER_DELAY, EndpointName=name)  # fmt: skip

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        args: dict[str, Any] = {
            "EndpointName": name,
            "EndpointConfigName": inputs["endpointConfigName"],
            "Tags": tag_list(self._create_tags(ctx, inputs)),
        }
        args.update(self._request(ctx, "CreateEndpoint", inputs, ("deploymentConfig",)))
        arn = ctx.aws.client("sagemaker").create_endpoint(**args)["EndpointArn"]
        self._in_service(ctx, name)
        return name, {**self._outputs(ctx, name, inputs), "arn": arn}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        sm = ctx.aws.client("sagemaker")
        live = self.live(ctx, self.describe(ctx, resource_id) or {}, news)
        if stale(("endpointConfigName", "deploymentConfig"), olds, news, live):
            args: dict[str, Any] = {"EndpointName": resource_id, "EndpointConfigName": news["endpointConfigName"]}
            args.update(self._request(ctx, "UpdateEndpoint", news, ("deploymentConfig",)))
            sm.update_endpoint(**args)
            self._in_service(ctx, resource_id)
        sync_tags(ctx, arn_of(ctx, self.kind, resource_id), olds, news)
        return {**outputs, **self._outputs(ctx, resource_id, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        super().delete(ctx, resource_id, inputs, outputs)
        # The configuration it uses may be deleted next; wait until the endpoint is really gone.
        wait_until(ctx.aws.client("sagemaker"), "endpoint_deleted", what=f"endpoint {resource_id} to be deleted",
                   timeout=WAIT_SECONDS, delay=WAITER_DELAY, EndpointName=resource_id)  # fmt: skip


class FeatureGroupHandler(SageMakerHandler):
    """A feature store feature group; id = the group name.

    As in the Terraform provider, every argument but ``throughputConfig``, the online store's ``ttlDuration`` (and
    tags) forces a replacement; those two change in place through ``UpdateFeatureGroup``.
    """

    type = "aws:sagemaker/featureGroup:FeatureGroup"
    name_key = "featureGroupName"
    kind = "feature-group"
    describe_op = "describe_feature_group"
    delete_op = "delete_feature_group"
    name_param = "FeatureGroupName"
    fields = ("recordIdentifierFeatureName", "eventTimeFeatureName", "featureDefinitions", "onlineStoreConfig",
              "offlineStoreConfig", "roleArn", "description", "throughputConfig")  # fmt: skip
    implemented = frozenset({"featureGroupName", *fields})

    def _outputs(self, ctx: StepContext, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        # Feature group ARNs carry the lower-cased name.
        return {**super()._outputs(ctx, name, inputs), "arn": arn_of(ctx, self.kind, name.lower())}

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        args: dict[str, Any] = {"FeatureGroupName": name, "Tags": tag_list(self._create_tags(ctx, inputs))}
        args.update(self._request(ctx, "CreateFeatureGroup", inputs, self.fields))
        arn = ctx.aws.client("sagemaker").create_feature_group(**args)["FeatureGroupArn"]
        wait_for(lambda: self.describe(ctx, name), "FeatureGroupStatus", ("Created",), ("CreateFailed",),
              what=f"feature group {name}")  # fmt: skip
        return name, {**self._outputs(ctx, name, inputs), "arn": arn}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        described = self.describe(ctx, resource_id)
        if described is None or described.get("FeatureGroupStatus") == "Deleting":
            return None
        live = self.live(ctx, described, inputs)
        if "tags" in inputs:
            live["tags"] = list_tags(ctx, described["FeatureGroupArn"])
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        # throughputConfig is the one argument the provider updates in place (UpdateFeatureGroup); removing it
        # from the program keeps the live setting (Optional+Computed).
        live = self.live(ctx, self.describe(ctx, resource_id) or {}, news)
        if news.get("throughputConfig") and stale(("throughputConfig",), olds, news, live):
            args = self._request(ctx, "UpdateFeatureGroup", news, ("throughputConfig",))
            ctx.aws.client("sagemaker").update_feature_group(FeatureGroupName=resource_id, **args)
            wait_for(lambda: self.describe(ctx, resource_id), "FeatureGroupStatus", ("Created",), ("CreateFailed",),
                     what=f"feature group {resource_id}")  # fmt: skip
        # The online store's TTL is the one part of onlineStoreConfig the provider updates in place (its other
        # members force a replacement); UpdateFeatureGroup takes it alone.
        ttl = (news.get("onlineStoreConfig") or {}).get("ttlDuration")
        if ttl and ttl != (olds.get("onlineStoreConfig") or {}).get("ttlDuration"):
            wanted = {"onlineStoreConfig": {"ttlDuration": ttl}}
            args = self._request(ctx, "UpdateFeatureGroup", wanted, ("onlineStoreConfig",))
            ctx.aws.client("sagemaker").update_feature_group(FeatureGroupName=resource_id, **args)
            wait_for(lambda: self.describe(ctx, resource_id), "FeatureGroupStatus", ("Created",), ("CreateFailed",),
                     what=f"feature group {resource_id}")  # fmt: skip
        sync_tags(ctx, arn_of(ctx, self.kind, resource_id.lower()), olds, news)
        return {**outputs, **self._outputs(ctx, resource_id, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        super().delete(ctx, resource_id, inputs, outputs)
        # Deletion is asynchronous on AWS; a replacement with the same name must wait for it.
        wait_for(lambda: self.describe(ctx, resource_id), "FeatureGroupStatus", (), ("DeleteFailed",),
              what=f"feature group {resource_id}")  # fmt: skip


class PipelineHandler(SageMakerHandler):
    """A SageMaker pipeline; id = the pipeline name. Definition and settings update through ``UpdatePipeline``."""

    type = "aws:sagemaker/pipeline:Pipeline"
    name_key = "pipelineName"
    kind = "pipeline"
    describe_op = "describe_pipeline"
    delete_op = "delete_pipeline"
    name_param = "PipelineName"
    fields = ("pipelineDisplayName", "pipelineDescription", "roleArn", "parallelismConfiguration")
    _UPDATABLE = ("pipelineDisplayName", "pipelineDefinition", "pipelineDefinitionS3Location", "pipelineDescription",
                  "roleArn", "parallelismConfiguration")  # fmt: skip
    implemented = frozenset({"pipelineName", *_UPDATABLE})

    def _args(self, ctx: StepContext, operation: str, inputs: dict[str, Any]) -> dict[str, Any]:
        definition = inputs.get("pipelineDefinition")
        if definition is not None and not isinstance(definition, str):
            inputs = {**inputs, "pipelineDefinition": json.dumps(definition)}
        return self._request(
            ctx, operation, inputs, (*self.fields, "pipelineDefinition", "pipelineDefinitionS3Location")
        )

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        args = {
            "PipelineName": name,
            "Tags": tag_list(self._create_tags(ctx, inputs)),
            **self._args(ctx, "CreatePipeline", inputs),
        }
        args.setdefault("PipelineDisplayName", name)
        arn = ctx.aws.client("sagemaker").create_pipeline(**args)["PipelineArn"]
        return name, {**self._outputs(ctx, name, inputs), "arn": arn}

    def live(self, ctx: StepContext, described: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        live = super().live(ctx, described, inputs)
        if "pipelineDefinition" in inputs:
            # AWS may reformat the JSON: compare as documents and report the recorded text when equal.
            definition = described.get("PipelineDefinition")
            wanted = inputs["pipelineDefinition"]
            live["pipelineDefinition"] = wanted if same_policy(definition, wanted) else definition
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        sm = ctx.aws.client("sagemaker")
        live = self.live(ctx, self.describe(ctx, resource_id) or {}, news)
        if stale(self._UPDATABLE, olds, news, live):
            sm.update_pipeline(PipelineName=resource_id, **self._args(ctx, "UpdatePipeline", news))
        sync_tags(ctx, arn_of(ctx, self.kind, resource_id), olds, news)
        return {**outputs, **self._outputs(ctx, resource_id, news)}


class DataQualityJobDefinitionHandler(SageMakerHandler):
    """A data-quality monitoring job definition; id = the name. Immutable but for tags."""

    type = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
    name_key = "name"
    kind = "data-quality-job-definition"
    describe_op = "describe_data_quality_job_definition"
    delete_op = "delete_data_quality_job_definition"
    name_param = "JobDefinitionName"
    # pulumi's dataQualityJobOutputConfig.monitoringOutputs is one object where the API has a one-item list;
    # shapes.py converts both ways.
    fields = ("roleArn", "dataQualityAppSpecification", "dataQualityBaselineConfig", "dataQualityJobInput",
              "dataQualityJobOutputConfig", "jobResources", "networkConfig", "stoppingCondition")  # fmt: skip
    # roleArn is not ForceNew in the provider and there is no UpdateDataQualityJobDefinition: like the provider,
    # a changed role is recorded but the job definition keeps the role it was created with.
    implemented = frozenset({"name", *fields})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        args: dict[str, Any] = {"JobDefinitionName": name, "Tags": tag_list(self._create_tags(ctx, inputs))}
        args.update(self._request(ctx, "CreateDataQualityJobDefinition", inputs, self.fields))
        arn = ctx.aws.client("sagemaker").create_data_quality_job_definition(**args)["JobDefinitionArn"]
        return name, {**self._outputs(ctx, name, inputs), "arn": arn}


class MonitoringScheduleHandler(SageMakerHandler):
    """A schedule running a monitoring job definition; id = the name. Config updates in place."""

    type = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
    name_key = "name"
    kind = "monitoring-schedule"
    describe_op = "describe_monitoring_schedule"
    delete_op = "delete_monitoring_schedule"
    name_param = "MonitoringScheduleName"
    fields = ("monitoringScheduleConfig",)
    implemented = frozenset({"name", "monitoringScheduleConfig"})

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        found = super().unsupported_inputs(inputs)
        config = inputs.get("monitoringScheduleConfig")
        if isinstance(config, dict) and is_set(config.get("monitoringJobDefinition")):
            found.append("monitoringScheduleConfig.monitoringJobDefinition")
        return found

    def _config(self, ctx: StepContext, operation: str, inputs: dict[str, Any]) -> dict[str, Any]:
        config = inputs.get("monitoringScheduleConfig") or {}
        if config.get("monitoringJobDefinition"):
            # Its pulumi shape differs from the API's in several places (objects for lists and back);
            # supporting it needs its own conversion. mlplatform's blueprints name a job definition.
            raise HandlerError(
                "monitoringScheduleConfig.monitoringJobDefinition (an inline job definition) is not supported by "
                "the embedded engine; create a job definition resource and set monitoringJobDefinitionName."
            )
        converted: dict[str, Any] = self._request(ctx, operation, inputs, self.fields).get(
            "MonitoringScheduleConfig", {}
        )
        return converted

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        arn = ctx.aws.client("sagemaker").create_monitoring_schedule(
            MonitoringScheduleName=name,
            MonitoringScheduleConfig=self._config(ctx, "CreateMonitoringSchedule", inputs),
            Tags=tag_list(self._create_tags(ctx, inputs)),
        )["MonitoringScheduleArn"]
        self._scheduled(ctx, name)
        return name, {**self._outputs(ctx, name, inputs), "arn": arn}

    def _scheduled(self, ctx: StepContext, name: str) -> None:
        wait_for(lambda: self.describe(ctx, name), "MonitoringScheduleStatus", ("Scheduled", "Stopped"),
              what=f"monitoring schedule {name}")  # fmt: skip

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        sm = ctx.aws.client("sagemaker")
        live = self.live(ctx, self.describe(ctx, resource_id) or {}, news)
        if stale(("monitoringScheduleConfig",), olds, news, live):
            sm.update_monitoring_schedule(
                MonitoringScheduleName=resource_id,
                MonitoringScheduleConfig=self._config(ctx, "UpdateMonitoringSchedule", news),
            )
            self._scheduled(ctx, resource_id)
        sync_tags(ctx, arn_of(ctx, self.kind, resource_id), olds, news)
        return {**outputs, **self._outputs(ctx, resource_id, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        super().delete(ctx, resource_id, inputs, outputs)
        wait_for(lambda: self.describe(ctx, resource_id), "MonitoringScheduleStatus", (),
              what=f"monitoring schedule {resource_id}")  # fmt: skip


HANDLERS: tuple[type[Handler], ...] = (
    ModelPackageGroupHandler,
    ModelHandler,
    EndpointConfigurationHandler,
    EndpointHandler,
    FeatureGroupHandler,
    PipelineHandler,
    DataQualityJobDefinitionHandler,
    MonitoringScheduleHandler,
)
