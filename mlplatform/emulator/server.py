"""The local AWS emulator's server process: moto's HTTP server plus mlplatform's fixes for moto's gaps.

Run as ``python -m mlplatform.emulator_server --host 127.0.0.1 --port 4566 [--detach]``;
:mod:`mlplatform.emulator` starts it this way. The server runs in its own process, so a fix for a moto gap
only takes effect if it is applied *inside* that process, before moto starts serving: :func:`main`
calls :func:`apply_patches` and then hands over to ``moto.server.main``.

Each patch fills one gap of the pinned moto release (pyproject pins ``moto[server]==5.2.5``), says which,
and only *adds* what moto lacks: when a newer moto implements the operation itself, moto's version wins
and the patch is a no-op. Each patch has an integration test that shows the gap on plain moto and the
fix through this server (tests/integration/test_emulator.py, tests/integration/test_emulator_patches.py).
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

# The moto release these patches were written against (what the tests show the gaps on).
PATCHED_MOTO_VERSION = "5.2.5"


def apply_patches() -> None:
    """Apply every patch to moto's backends and responses in this process. Safe to call twice."""
    _add_sagemaker_delete_model_package_group()
    _fix_sagemaker_tags()
    _add_sagemaker_feature_group_lifecycle()
    _add_sagemaker_update_endpoint()
    _add_sagemaker_notebook_instance_settings()
    _add_sagemaker_update_domain()
    _add_sagemaker_monitoring_schedules()
    _keep_sagemaker_model_network_isolation()
    _add_budgets_subscribers_update_and_tags()
    _add_appautoscaling_tags()
    _fix_codebuild_projects()
    _return_s3_eventbridge_notification()
    _fix_s3_logging_permission_check()
    _evaluate_s3_bucket_policy_conditions()
    _drop_glue_database_tags_on_delete()
    _describe_group_rule_descriptions()
    _describe_prefix_list_rule_descriptions()
    _fix_sagemaker_endpoint_config_arn()
    _accept_sagemaker_instance_types_from_botocore()
    _authorize_sagemaker_and_codebuild_by_resource()


def _add_sagemaker_delete_model_package_group() -> None:
    """SageMaker ``DeleteModelPackageGroup`` (moto 5.2.5 answers HTTP 500).

    Root cause: moto 5.2.5 implements Create/Describe/ListModelPackageGroups but neither
    ``SageMakerModelBackend.delete_model_package_group`` nor the ``SageMakerResponse`` handler, so
    ``BaseResponse.call_action`` raises ``NotImplementedError("The delete_model_package_group action has not
    been implemented")`` and the Flask app turns it into a 500 HTML page. Every ``destroy`` of a blueprint
    with a model registry hits it.
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ConflictException
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def delete_model_package_group(self: Any, model_package_group_name: str) -> None:
        # The API accepts a name or an ARN (``arn:aws:sagemaker:…:model-package-group/<name>``).
        name = model_package_group_name.rsplit("/", 1)[-1]
        # An unknown group gets the same ValidationException ("… does not exist.") as Describe, which is
        # what AWS answers and what providers match on to treat the group as already gone.
        self.describe_model_package_group(name)
        # AWS refuses to delete a group that still holds model versions (ConflictException is the one error
        # the API documents); deleting silently would hide versions an engine forgot about.
        versions = [p for p in self.model_packages.values() if p.model_package_group_name == name]
        if versions:
            raise ConflictException(
                f"Model package group {name} cannot be deleted: it contains {len(versions)} model package(s)."
            )
        del self.model_package_groups[name]

    def handle_delete_model_package_group(self: Any) -> ActionResult:
        self.sagemaker_backend.delete_model_package_group(self._get_param("ModelPackageGroupName"))
        return EmptyResult()

    _add_missing(SageMakerModelBackend, delete_model_package_group=delete_model_package_group)
    _add_missing(SageMakerResponse, delete_model_package_group=handle_delete_model_package_group)


def _fix_sagemaker_tags() -> None:
    """SageMaker ``AddTags``/``ListTags``/``DeleteTags``: overwrite, every taggable ARN, errors instead of 500s.

    Three faults of moto 5.2.5's ``SageMakerModelBackend`` tag methods:

    - ``AddTags`` appends: adding ``{"k": "new"}`` to a resource tagged ``{"k": "old"}`` leaves *both* pairs,
      where AWS overwrites the value (a tag update of an existing key never converges).
    - ``_get_resource_from_arn`` knows no ``feature-group`` (moto keys feature groups by ARN, not name) and
      no ``monitoring-schedule`` ARNs: tagging them answers HTTP 500.
    - An ARN of a resource that does not exist answers HTTP 500 (``'NoneType' object has no attribute
      'tags'``) instead of AWS's ``ValidationException``.

    The wrappers keep moto's own methods for everything else, so a moto release that fixes these is unharmed.
    """
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend

    if getattr(SageMakerModelBackend, "_mlplatform_tags_fixed", False):
        return
    original_lookup = SageMakerModelBackend._get_resource_from_arn
    original_add = SageMakerModelBackend.add_tags

    def get_resource_from_arn(self: Any, arn: str) -> Any:
        kind, _, name = arn.split(":")[-1].partition("/")
        resource: Any
        if kind == "feature-group":
            resource = next(
                (g for g in self.feature_groups.values() if g.feature_group_name.lower() == name.lower()), None
            )
        elif kind == "monitoring-schedule":
            resource = _monitoring_schedules(self).get(name)
        else:
            resource = original_lookup(self, arn)
        if resource is None:
            raise ValidationError(message=f"Could not find resource {arn}.")
        if getattr(resource, "tags", None) is None:  # some moto objects store tags=None when created without
            resource.tags = []
        return resource

    def add_tags(self: Any, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        resource = self._get_resource_from_arn(arn)
        keys = {tag["Key"] for tag in tags}
        resource.tags = [tag for tag in resource.tags if tag["Key"] not in keys]
        result: list[dict[str, str]] = original_add(self, arn, tags)
        return result

    SageMakerModelBackend._get_resource_from_arn = get_resource_from_arn  # type: ignore[method-assign]
    SageMakerModelBackend.add_tags = add_tags  # type: ignore[method-assign]
    SageMakerModelBackend._mlplatform_tags_fixed = True  # type: ignore[attr-defined]


def _add_sagemaker_feature_group_lifecycle() -> None:
    """SageMaker feature groups: ``DeleteFeatureGroup``, not-found errors, and the settings moto drops.

    moto 5.2.5 implements only Create/DescribeFeatureGroup, and those partly:

    - no ``DeleteFeatureGroup`` (HTTP 500, ``NotImplementedError``): a feature group can never be destroyed;
    - ``DescribeFeatureGroup`` of an unknown name raises ``KeyError`` (HTTP 500) instead of AWS's
      ``ResourceNotFound``, so "already gone" cannot be told from a server fault;
    - ``CreateFeatureGroup`` drops ``OnlineStoreConfig`` and ``Description`` and overwrites the requested
      ``OfflineStoreConfig.DataCatalogConfig`` with a generated one, so ``Describe`` reports a different feature
      group from the one created (every refresh would show drift).

    Applied only while moto's ``FeatureGroup`` has no ``online_store_config`` of its own.
    """
    import copy
    import inspect

    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ResourceNotFound
    from moto.sagemaker.models import FeatureGroup, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def find_feature_group(self: Any, name: str) -> Any:
        key = name.rsplit("/", 1)[-1].lower()  # a name or an ARN; moto stores the lower-cased name in the ARN
        for group in self.feature_groups.values():
            if group.feature_group_name.lower() == key:
                return group
        raise ResourceNotFound(message=f"Resource Not Found: FeatureGroup {name} does not exist.")

    def delete_feature_group(self: Any, feature_group_name: str) -> None:
        group = find_feature_group(self, feature_group_name)
        del self.feature_groups[group.arn]

    def handle_delete_feature_group(self: Any) -> ActionResult:
        self.sagemaker_backend.delete_feature_group(self._get_param("FeatureGroupName"))
        return EmptyResult()

    _add_missing(SageMakerModelBackend, delete_feature_group=delete_feature_group)
    _add_missing(SageMakerResponse, delete_feature_group=handle_delete_feature_group)

    if "online_store_config" in inspect.signature(FeatureGroup.__init__).parameters or getattr(
        SageMakerResponse, "_mlplatform_feature_group_settings", False
    ):
        return
    original_create = SageMakerResponse.create_feature_group

    def create_feature_group(self: Any) -> ActionResult:
        # moto's FeatureGroup rewrites the request's OfflineStoreConfig in place: keep the requested catalog first.
        requested = copy.deepcopy((self._get_param("OfflineStoreConfig") or {}).get("DataCatalogConfig"))
        result = original_create(self)
        group = find_feature_group(self.sagemaker_backend, self._get_param("FeatureGroupName"))
        group.online_store_config = self._get_param("OnlineStoreConfig")
        group.description = self._get_param("Description")
        if requested and group.offline_store_config:
            group.offline_store_config["DataCatalogConfig"] = requested
        group.tags = group.tags or []
        return result

    def describe_feature_group(self: Any) -> ActionResult:
        group = find_feature_group(self.sagemaker_backend, self._get_param("FeatureGroupName"))
        described = group.describe()
        for key, value in (
            ("OnlineStoreConfig", getattr(group, "online_store_config", None)),
            ("Description", getattr(group, "description", None)),
        ):
            if value is not None:
                described[key] = value
        return ActionResult(described)

    SageMakerResponse.create_feature_group = create_feature_group  # type: ignore[method-assign]
    SageMakerResponse.describe_feature_group = describe_feature_group  # type: ignore[method-assign]
    SageMakerResponse._mlplatform_feature_group_settings = True  # type: ignore[attr-defined]


def _add_sagemaker_update_endpoint() -> None:
    """SageMaker ``UpdateEndpoint`` (moto 5.2.5 answers HTTP 500, ``NotImplementedError``).

    Without it an endpoint can only be pointed at a new endpoint configuration by deleting and recreating
    it, which on AWS means downtime; the blue/green update is the point of ``UpdateEndpoint``. moto deploys
    instantly, so the endpoint is ``InService`` on the new configuration when the call returns.
    """
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def update_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str) -> Any:
        self.describe_endpoint(endpoint_name)  # AWS's ValidationException "Could not find endpoint …"
        config = self.describe_endpoint_config(endpoint_config_name)  # … and "Could not find endpoint configuration"
        endpoint: FakeEndpoint = self.endpoints[endpoint_name]
        endpoint.endpoint_config_name = endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.data_capture_config = config["DataCaptureConfig"]
        endpoint.endpoint_status = "InService"
        endpoint.last_modified_time = utcnow()
        return endpoint

    def handle_update_endpoint(self: Any) -> ActionResult:
        endpoint = self.sagemaker_backend.update_endpoint(
            self._get_param("EndpointName"), self._get_param("EndpointConfigName")
        )
        return ActionResult({"EndpointArn": endpoint.arn})

    _add_missing(SageMakerModelBackend, update_endpoint=update_endpoint)
    _add_missing(SageMakerResponse, update_endpoint=handle_update_endpoint)


_NOTEBOOK_UPDATABLE = {
    # UpdateNotebookInstance parameter -> moto attribute
    "InstanceType": "instance_type",
    "RoleArn": "role_arn",
    "VolumeSizeInGB": "volume_size_in_gb",
    "RootAccess": "root_access",
    "LifecycleConfigName": "lifecycle_config_name",
    "DefaultCodeRepository": "default_code_repository",
    "AdditionalCodeRepositories": "additional_code_repositories",
    "AcceleratorTypes": "accelerator_types",
    "PlatformIdentifier": "platform_identifier",
    "InstanceMetadataServiceConfiguration": "instance_metadata_service_configuration",
}


def _add_sagemaker_notebook_instance_settings() -> None:
    """SageMaker notebook instances: ``UpdateNotebookInstance``, and two settings moto drops.

    moto 5.2.5 has no ``UpdateNotebookInstance`` (HTTP 500, ``NotImplementedError``), and its
    ``CreateNotebookInstance`` ignores ``PlatformIdentifier`` and ``InstanceMetadataServiceConfiguration``
    (IMDSv2-only is a security setting), so ``Describe`` never reports them. Like AWS, an update is only
    accepted while the instance is ``Stopped``.
    """
    import inspect

    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeSagemakerNotebookInstance, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def update_notebook_instance(self: Any, notebook_instance_name: str, **changes: Any) -> None:
        notebook = self.get_notebook_instance(notebook_instance_name)
        if notebook.status != "Stopped":
            raise ValidationError(
                message=f"Status ({notebook.status}) not in ([Stopped]). Unable to transition to (Updating) for "
                f"Notebook Instance ({notebook.arn})."
            )
        if "volume_size_in_gb" in changes:
            notebook.validate_volume_size_in_gb(changes["volume_size_in_gb"])
        if "instance_type" in changes:
            notebook.validate_instance_type(changes["instance_type"])
        for attribute, value in changes.items():
            setattr(notebook, attribute, value)
        notebook.last_modified_time = utcnow()

    def handle_update_notebook_instance(self: Any) -> EmptyResult:
        changes = {
            attribute: self._get_param(param)
            for param, attribute in _NOTEBOOK_UPDATABLE.items()
            if self._get_param(param) is not None
        }
        for flag, attribute in (
            ("DisassociateLifecycleConfig", "lifecycle_config_name"),
            ("DisassociateDefaultCodeRepository", "default_code_repository"),
            ("DisassociateAdditionalCodeRepositories", "additional_code_repositories"),
            ("DisassociateAcceleratorTypes", "accelerator_types"),
        ):
            if self._get_param(flag):
                changes[attribute] = None
        self.sagemaker_backend.update_notebook_instance(self._get_param("NotebookInstanceName"), **changes)
        return EmptyResult()

    _add_missing(SageMakerModelBackend, update_notebook_instance=update_notebook_instance)
    _add_missing(SageMakerResponse, update_notebook_instance=handle_update_notebook_instance)

    if "platform_identifier" in inspect.signature(FakeSagemakerNotebookInstance.__init__).parameters or getattr(
        FakeSagemakerNotebookInstance, "_mlplatform_settings", False
    ):
        return
    original_create = SageMakerResponse.create_notebook_instance
    original_to_dict = FakeSagemakerNotebookInstance.to_dict

    def create_notebook_instance(self: Any) -> ActionResult:
        result = original_create(self)
        notebook = self.sagemaker_backend.get_notebook_instance(self._get_param("NotebookInstanceName"))
        notebook.platform_identifier = self._get_param("PlatformIdentifier")
        notebook.instance_metadata_service_configuration = self._get_param("InstanceMetadataServiceConfiguration")
        return result

    def to_dict(self: Any) -> dict[str, Any]:
        described: dict[str, Any] = original_to_dict(self)
        described["PlatformIdentifier"] = getattr(self, "platform_identifier", None)
        described["InstanceMetadataServiceConfiguration"] = getattr(
            self, "instance_metadata_service_configuration", None
        )
        return described

    SageMakerResponse.create_notebook_instance = create_notebook_instance  # type: ignore[method-assign]
    FakeSagemakerNotebookInstance.to_dict = to_dict  # type: ignore[method-assign]
    FakeSagemakerNotebookInstance._mlplatform_settings = True  # type: ignore[attr-defined]


def _add_sagemaker_update_domain() -> None:
    """SageMaker ``UpdateDomain`` (moto 5.2.5 answers HTTP 500, ``NotImplementedError``).

    Without it a change of the domain's default user settings (execution role, security groups) or network
    access type could only be applied by deleting the domain, which on AWS deletes every user's home
    directory. Top-level keys of ``DefaultUserSettings``/``DefaultSpaceSettings`` given replace the stored ones,
    keys not given are kept, as AWS does.
    """
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ResourceNotFound
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def update_domain(self: Any, domain_id: str, **changes: Any) -> str:
        domain = self.domains.get(domain_id)
        if domain is None:
            raise ResourceNotFound(message=f"Domain {domain_id} does not exist.")
        for attribute in ("default_user_settings", "default_space_settings"):
            if changes.get(attribute) is not None:
                setattr(domain, attribute, {**(getattr(domain, attribute) or {}), **changes[attribute]})
        for attribute in ("subnet_ids", "app_network_access_type", "app_security_group_management"):
            if changes.get(attribute) is not None:
                setattr(domain, attribute, changes[attribute])
        domain.last_modified_time = utcnow()
        return str(domain.arn)

    def handle_update_domain(self: Any) -> ActionResult:
        arn = self.sagemaker_backend.update_domain(
            self._get_param("DomainId"),
            default_user_settings=self._get_param("DefaultUserSettings"),
            default_space_settings=self._get_param("DefaultSpaceSettings"),
            subnet_ids=self._get_param("SubnetIds"),
            app_network_access_type=self._get_param("AppNetworkAccessType"),
            app_security_group_management=self._get_param("AppSecurityGroupManagement"),
        )
        return ActionResult({"DomainArn": arn})

    _add_missing(SageMakerModelBackend, update_domain=update_domain)
    _add_missing(SageMakerResponse, update_domain=handle_update_domain)


def _monitoring_schedules(backend: Any) -> dict[str, Any]:
    """The backend's monitoring schedules by name (created on first use: moto's backend has no such field)."""
    schedules: dict[str, Any] = backend.__dict__.setdefault("monitoring_schedules", {})
    return schedules


_MONITORING_DEFINITIONS = {
    # MonitoringType -> the backend's job definitions of that type
    "DataQuality": "data_quality_job_definitions",
    "ModelQuality": "model_quality_job_definitions",
    "ModelBias": "model_bias_job_definitions",
    "ModelExplainability": "model_explainability_job_definitions",
}


def _add_sagemaker_monitoring_schedules() -> None:
    """SageMaker ``Create/Describe/Update/Delete/ListMonitoringSchedules`` (moto 5.2.5 has none: HTTP 500).

    moto implements the monitoring job definitions but not the schedules that run them, so data- and
    model-quality monitoring cannot be deployed at all. Schedules are stored per backend with AWS's request
    and response shapes; a schedule naming a job definition checks that it exists (AWS answers
    ``ValidationException`` otherwise) and takes its endpoint from the definition's input. No monitoring
    job ever runs: the status is ``Scheduled``, as on AWS before the first execution.
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemaker.utils import arn_formatter

    class MonitoringSchedule:
        def __init__(self, backend: Any, name: str, config: dict[str, Any], tags: list[dict[str, str]]) -> None:
            self.name = name
            self.arn = arn_formatter("monitoring-schedule", name, backend.account_id, backend.region_name)
            self.tags = list(tags or [])
            self.creation_time = utcnow()
            self.configure(backend, config)

        def configure(self, backend: Any, config: dict[str, Any]) -> None:
            self.config = config
            self.type = config.get("MonitoringType") or "DataQuality"
            self.endpoint_name = None
            name = config.get("MonitoringJobDefinitionName")
            if name:
                definitions = getattr(backend, _MONITORING_DEFINITIONS.get(self.type, ""), None)
                if definitions is None or name not in definitions:
                    raise ValidationError(message=f"Could not find {self.type} job definition '{name}'.")
                job_input = next(
                    (value for key, value in vars(definitions[name]).items() if key.endswith("_job_input")), None
                )
                self.endpoint_name = ((job_input or {}).get("EndpointInput") or {}).get("EndpointName")
            else:
                inputs = (config.get("MonitoringJobDefinition") or {}).get("MonitoringInputs") or []
                self.endpoint_name = next(
                    (i["EndpointInput"].get("EndpointName") for i in inputs if i.get("EndpointInput")), None
                )
            self.last_modified_time = utcnow()

        def summary(self) -> dict[str, Any]:
            return {
                "MonitoringScheduleName": self.name,
                "MonitoringScheduleArn": self.arn,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "MonitoringScheduleStatus": "Scheduled",
                "EndpointName": self.endpoint_name,
                "MonitoringJobDefinitionName": self.config.get("MonitoringJobDefinitionName"),
                "MonitoringType": self.type,
            }

        def describe(self) -> dict[str, Any]:
            summary = self.summary()
            del summary["MonitoringJobDefinitionName"]
            return {**summary, "MonitoringScheduleConfig": self.config}

    def get(backend: Any, name: str) -> Any:
        schedule = _monitoring_schedules(backend).get(name)
        if schedule is None:
            raise ResourceNotFound(message=f"Could not find monitoring schedule '{name}'.")
        return schedule

    def create_monitoring_schedule(self: Any, name: str, config: dict[str, Any], tags: Any) -> str:
        schedules = _monitoring_schedules(self)
        if name in schedules:
            raise ResourceInUseException(message=f"Monitoring schedule {name} already exists.")
        schedule = MonitoringSchedule(self, name, config, tags)
        schedules[name] = schedule
        return schedule.arn

    def describe_monitoring_schedule(self: Any, name: str) -> dict[str, Any]:
        described: dict[str, Any] = get(self, name).describe()
        return described

    def update_monitoring_schedule(self: Any, name: str, config: dict[str, Any]) -> str:
        schedule = get(self, name)
        schedule.configure(self, config)
        return str(schedule.arn)

    def delete_monitoring_schedule(self: Any, name: str) -> None:
        get(self, name)
        del _monitoring_schedules(self)[name]

    def list_monitoring_schedules(self: Any, **filters: Any) -> list[dict[str, Any]]:
        found = []
        for schedule in _monitoring_schedules(self).values():
            summary = schedule.summary()
            if filters.get("EndpointName") and summary["EndpointName"] != filters["EndpointName"]:
                continue
            if filters.get("NameContains") and filters["NameContains"] not in schedule.name:
                continue
            if filters.get("MonitoringJobDefinitionName") and (
                summary["MonitoringJobDefinitionName"] != filters["MonitoringJobDefinitionName"]
            ):
                continue
            if filters.get("MonitoringTypeEquals") and schedule.type != filters["MonitoringTypeEquals"]:
                continue
            if filters.get("StatusEquals") and filters["StatusEquals"] != "Scheduled":
                continue
            found.append(summary)
        sort_key = {"Name": "MonitoringScheduleName", "Status": "MonitoringScheduleStatus"}.get(
            filters.get("SortBy") or "", "CreationTime"
        )
        found.sort(key=lambda item: item[sort_key], reverse=(filters.get("SortOrder") or "Descending") == "Descending")
        return found

    def handle_create(self: Any) -> ActionResult:
        arn = self.sagemaker_backend.create_monitoring_schedule(
            self._get_param("MonitoringScheduleName"),
            self._get_param("MonitoringScheduleConfig"),
            self._get_param("Tags"),
        )
        return ActionResult({"MonitoringScheduleArn": arn})

    def handle_describe(self: Any) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.describe_monitoring_schedule(self._get_param("MonitoringScheduleName"))
        )

    def handle_update(self: Any) -> ActionResult:
        arn = self.sagemaker_backend.update_monitoring_schedule(
            self._get_param("MonitoringScheduleName"), self._get_param("MonitoringScheduleConfig")
        )
        return ActionResult({"MonitoringScheduleArn": arn})

    def handle_delete(self: Any) -> EmptyResult:
        self.sagemaker_backend.delete_monitoring_schedule(self._get_param("MonitoringScheduleName"))
        return EmptyResult()

    def handle_list(self: Any) -> ActionResult:
        keys = ("EndpointName", "SortBy", "SortOrder", "NameContains", "StatusEquals",
                "MonitoringJobDefinitionName", "MonitoringTypeEquals")  # fmt: skip
        found = self.sagemaker_backend.list_monitoring_schedules(**{key: self._get_param(key) for key in keys})
        # NextToken is the index of the next summary: the list is rebuilt per call, in a stable order.
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 100)
        page = found[start : start + size]
        result: dict[str, Any] = {"MonitoringScheduleSummaries": page}
        if start + size < len(found):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    _add_missing(
        SageMakerModelBackend,
        create_monitoring_schedule=create_monitoring_schedule,
        describe_monitoring_schedule=describe_monitoring_schedule,
        update_monitoring_schedule=update_monitoring_schedule,
        delete_monitoring_schedule=delete_monitoring_schedule,
        list_monitoring_schedules=list_monitoring_schedules,
    )
    _add_missing(
        SageMakerResponse,
        create_monitoring_schedule=handle_create,
        describe_monitoring_schedule=handle_describe,
        update_monitoring_schedule=handle_update,
        delete_monitoring_schedule=handle_delete,
        list_monitoring_schedules=handle_list,
    )


def _keep_sagemaker_model_network_isolation() -> None:
    """SageMaker ``CreateModel`` ignores ``EnableNetworkIsolation`` in moto 5.2.5.

    moto's ``Model`` hard-codes ``enable_network_isolation = False`` and its ``CreateModel`` handler never reads
    the parameter, so ``DescribeModel`` reports a network-isolated model as not isolated (a security setting
    that silently disappears, and drift on every refresh). Applied only while moto's ``Model`` takes no
    ``enable_network_isolation`` argument.
    """
    import inspect

    from moto.core.responses import ActionResult
    from moto.sagemaker.models import Model
    from moto.sagemaker.responses import SageMakerResponse

    if "enable_network_isolation" in inspect.signature(Model.__init__).parameters or getattr(
        SageMakerResponse, "_mlplatform_network_isolation", False
    ):
        return
    original_create = SageMakerResponse.create_model

    def create_model(self: Any) -> ActionResult:
        result = original_create(self)
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return result

    SageMakerResponse.create_model = create_model  # type: ignore[method-assign]
    SageMakerResponse._mlplatform_network_isolation = True  # type: ignore[attr-defined]


def _budget_from_arn(backend: Any, arn: str) -> Any:
    """The moto ``Budget`` an ARN ``arn:<partition>:budgets::<account>:budget/<name>`` names, or AWS's NotFound."""
    from moto.budgets.exceptions import NotFoundException

    parts = arn.split(":", 5)
    kind, _, name = parts[5].partition("/") if len(parts) == 6 else ("", "", "")
    budget = backend.budgets.get(parts[4], {}).get(name) if kind == "budget" and "/" not in name else None
    if budget is None:
        raise NotFoundException(f"Unable to find resource {arn}: the budget doesn't exist.")
    return budget


def _add_budgets_subscribers_update_and_tags() -> None:
    """Budgets ``DescribeSubscribersForNotification``, ``UpdateBudget``, tags (moto 5.2.5: HTTP 500 or ignored).

    moto 5.2.5 stores each notification's subscribers but has no ``DescribeSubscribersForNotification``, so a
    budget's notifications cannot be read back whole (every refresh errs); no ``UpdateBudget``, so a new
    limit or filter could only be applied by deleting the budget (and its spend history on AWS); and no
    ``ListTagsForResource``/``TagResource``/``UntagResource``, while ``CreateBudget`` drops ``ResourceTags``.
    All answer HTTP 500 (``NotImplementedError``). Tags are kept on moto's ``Budget`` object, so they go
    with it when the budget is deleted. The budget ARN is AWS's ``arn:aws:budgets::<account>:budget/<name>``.
    """
    from moto.budgets.exceptions import NotFoundException
    from moto.budgets.models import Budget, BudgetsBackend
    from moto.budgets.responses import BudgetsResponse
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import unix_time

    def notification_key(notification: dict[str, Any]) -> tuple[str, str, float, str]:
        # AWS identifies a notification by these four; ThresholdType defaults to PERCENTAGE.
        return (
            str(notification.get("NotificationType")),
            str(notification.get("ComparisonOperator")),
            float(notification.get("Threshold") or 0),
            str(notification.get("ThresholdType") or "PERCENTAGE"),
        )

    def describe_subscribers_for_notification(
        self: Any, account_id: str, budget_name: str, notification: dict[str, Any]
    ) -> list[dict[str, Any]]:
        budget = self.budgets[account_id].get(budget_name)
        if budget is None:
            raise NotFoundException(f"Unable to get budget: {budget_name} - the budget doesn't exist.")
        wanted = notification_key(notification)
        for item in budget.notifications:
            if notification_key(item.details) == wanted:
                return list(item.subscribers or [])
        raise NotFoundException(f"Unable to get notification for budget {budget_name}: the notification doesn't exist.")

    def update_budget(self: Any, account_id: str, new_budget: dict[str, Any]) -> None:
        name = new_budget.get("BudgetName")
        current = self.budgets[account_id].get(name)
        if current is None:
            raise NotFoundException(f"Unable to update budget: {name} - the budget doesn't exist.")
        replacement = Budget(dict(new_budget), [])  # validates the limit as CreateBudget does
        if "TimePeriod" not in new_budget:  # a period not given is kept, not reset to this month
            replacement.budget["TimePeriod"] = current.budget["TimePeriod"]
        replacement.budget["LastUpdatedTime"] = unix_time()
        current.budget = replacement.budget

    def list_tags_for_resource(self: Any, arn: str) -> list[dict[str, str]]:
        return list(getattr(_budget_from_arn(self, arn), "resource_tags", []))

    def tag_resource(self: Any, arn: str, tags: list[dict[str, str]]) -> None:
        budget = _budget_from_arn(self, arn)
        keys = {tag["Key"] for tag in tags}
        kept = [tag for tag in getattr(budget, "resource_tags", []) if tag["Key"] not in keys]
        budget.resource_tags = kept + [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]

    def untag_resource(self: Any, arn: str, keys: list[str]) -> None:
        budget = _budget_from_arn(self, arn)
        budget.resource_tags = [tag for tag in getattr(budget, "resource_tags", []) if tag["Key"] not in set(keys)]

    def handle_describe_subscribers(self: Any) -> ActionResult:
        subscribers = self.backend.describe_subscribers_for_notification(
            self._get_param("AccountId"), self._get_param("BudgetName"), self._get_param("Notification")
        )
        # NextToken is the index of the next subscriber (a notification has at most 11 on AWS).
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 100)
        result: dict[str, Any] = {"Subscribers": subscribers[start : start + size]}
        if start + size < len(subscribers):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    def handle_update_budget(self: Any) -> EmptyResult:
        self.backend.update_budget(self._get_param("AccountId"), self._get_param("NewBudget"))
        return EmptyResult()

    def handle_list_tags(self: Any) -> ActionResult:
        return ActionResult({"ResourceTags": self.backend.list_tags_for_resource(self._get_param("ResourceARN"))})

    def handle_tag(self: Any) -> EmptyResult:
        self.backend.tag_resource(self._get_param("ResourceARN"), self._get_param("ResourceTags") or [])
        return EmptyResult()

    def handle_untag(self: Any) -> EmptyResult:
        self.backend.untag_resource(self._get_param("ResourceARN"), self._get_param("ResourceTagKeys") or [])
        return EmptyResult()

    _add_missing(
        BudgetsBackend,
        describe_subscribers_for_notification=describe_subscribers_for_notification,
        update_budget=update_budget,
        list_tags_for_resource=list_tags_for_resource,
        tag_resource=tag_resource,
        untag_resource=untag_resource,
    )
    _add_missing(
        BudgetsResponse,
        describe_subscribers_for_notification=handle_describe_subscribers,
        update_budget=handle_update_budget,
        list_tags_for_resource=handle_list_tags,
        tag_resource=handle_tag,
        untag_resource=handle_untag,
    )

    # CreateBudget's ResourceTags: only while moto's own create handler ignores them.
    if "ResourceTags" in inspect.getsource(BudgetsResponse.create_budget) or getattr(
        BudgetsResponse, "_mlplatform_resource_tags", False
    ):
        return
    original_create = BudgetsResponse.create_budget

    def create_budget(self: Any) -> Any:
        result = original_create(self)
        tags = self._get_param("ResourceTags")
        if tags:
            budget = self.backend.budgets[self._get_param("AccountId")][self._get_param("Budget")["BudgetName"]]
            budget.resource_tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]
        return result

    BudgetsResponse.create_budget = create_budget  # type: ignore[method-assign]
    BudgetsResponse._mlplatform_resource_tags = True  # type: ignore[attr-defined]


def _add_appautoscaling_tags() -> None:
    """Application Auto Scaling ``ListTagsForResource``/``TagResource``/``UntagResource`` and
    ``RegisterScalableTarget``'s ``Tags`` (moto 5.2.5: HTTP 500, and the tags are dropped).

    The scalable target's ARN (``ScalableTargetARN``, ``arn:aws:application-autoscaling:<region>:<account>:
    scalable-target/<id>``) is the resource the tag operations name; an unknown ARN is AWS's
    ``ResourceNotFoundException``. As on AWS, ``RegisterScalableTarget`` applies ``Tags`` when it creates the
    target; an existing target is tagged with ``TagResource``. Tags live on moto's target object, so
    deregistering the target drops them.
    """
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult, EmptyResult

    class ResourceNotFoundException(JsonRESTError):
        code = 400

        def __init__(self, arn: str) -> None:
            super().__init__("ResourceNotFoundException", f"No scalable target found for ARN: {arn}")

    def target_by_arn(backend: Any, arn: str) -> Any:
        for by_resource in backend.targets.values():
            for target in by_resource.values():
                if target.arn == arn:
                    return target
        raise ResourceNotFoundException(arn)

    def list_tags_for_resource(self: Any, arn: str) -> dict[str, str]:
        return dict(getattr(target_by_arn(self, arn), "tags", {}))

    def tag_resource(self: Any, arn: str, tags: dict[str, str]) -> None:
        target = target_by_arn(self, arn)
        target.tags = {**getattr(target, "tags", {}), **tags}

    def untag_resource(self: Any, arn: str, keys: list[str]) -> None:
        target = target_by_arn(self, arn)
        target.tags = {key: value for key, value in getattr(target, "tags", {}).items() if key not in keys}

    def handle_list_tags(self: Any) -> ActionResult:
        tags = self.applicationautoscaling_backend.list_tags_for_resource(self._get_param("ResourceARN"))
        return ActionResult({"Tags": tags})

    def handle_tag(self: Any) -> EmptyResult:
        self.applicationautoscaling_backend.tag_resource(self._get_param("ResourceARN"), self._get_param("Tags") or {})
        return EmptyResult()

    def handle_untag(self: Any) -> EmptyResult:
        self.applicationautoscaling_backend.untag_resource(
            self._get_param("ResourceARN"), self._get_param("TagKeys") or []
        )
        return EmptyResult()

    _add_missing(
        ApplicationAutoscalingBackend,
        list_tags_for_resource=list_tags_for_resource,
        tag_resource=tag_resource,
        untag_resource=untag_resource,
    )
    _add_missing(
        ApplicationAutoScalingResponse,
        list_tags_for_resource=handle_list_tags,
        tag_resource=handle_tag,
        untag_resource=handle_untag,
    )

    # RegisterScalableTarget's Tags: only while moto's own handler ignores them.
    if "Tags" in inspect.getsource(ApplicationAutoScalingResponse.register_scalable_target) or getattr(
        ApplicationAutoScalingResponse, "_mlplatform_register_tags", False
    ):
        return
    original_register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self: Any) -> Any:
        backend = self.applicationautoscaling_backend
        dimension, resource_id = self._get_param("ScalableDimension"), self._get_param("ResourceId")
        existed = resource_id in backend.targets.get(dimension, {})
        result = original_register(self)
        tags = self._get_param("Tags")
        if tags and not existed:
            backend.targets[dimension][resource_id].tags = dict(tags)
        return result

    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target  # type: ignore[method-assign]
    ApplicationAutoScalingResponse._mlplatform_register_tags = True  # type: ignore[attr-defined]


# CodeBuild source and artifact types for which AWS needs no location (CodePipeline supplies them; a
# NO_SOURCE project has its buildspec inline).
_CODEBUILD_NO_LOCATION = {"source": {"CODEPIPELINE", "NO_SOURCE"}, "artifacts": {"CODEPIPELINE"}}

_CODEBUILD_UPDATABLE = (
    # UpdateProject members stored in moto's project_metadata under the same name.
    "description", "source", "secondarySources", "sourceVersion", "secondarySourceVersions", "artifacts",
    "secondaryArtifacts", "cache", "environment", "timeoutInMinutes", "queuedTimeoutInMinutes",
    "encryptionKey", "tags", "vpcConfig", "logsConfig", "fileSystemLocations", "buildBatchConfig",
    "concurrentBuildLimit", "autoRetryLimit",
)  # fmt: skip


def _fix_codebuild_projects() -> None:
    """CodeBuild projects: ``UpdateProject``, locations AWS does not need, and ``encryptionKey``/``badgeEnabled``.

    Four faults of moto 5.2.5:

    - no ``UpdateProject`` (HTTP 500, ``NotImplementedError``): a project could only be changed by deleting
      and recreating it (which loses its build history on AWS);
    - ``CreateProject`` answers ``InvalidInputException: Project source location is required`` for a
      ``CODEPIPELINE`` or ``NO_SOURCE`` source and a ``CODEPIPELINE`` artifact without ``location``, which AWS
      accepts (CodePipeline ignores a location given there);
    - ``CreateProject`` ignores ``encryptionKey``: every project reports the AWS-managed ``alias/aws/s3``
      key, so a customer-managed key silently disappears (and every refresh shows drift);
    - ``CreateProject`` ignores ``badgeEnabled``: the badge always reads disabled.

    The validation fix relaxes moto's own validators only for the cases above (everything else still goes
    through them); ``UpdateProject`` runs the same validators on the blocks it is given.
    """
    import moto.codebuild.responses as responses
    from moto.codebuild.exceptions import InvalidInputException, ResourceNotFoundException
    from moto.codebuild.models import CodeBuildBackend
    from moto.core.responses import ActionResult
    from moto.core.utils import unix_time

    if not getattr(responses, "_mlplatform_locations", False):
        for block, validator_name in (
            ("source", "_validate_required_params_source"),
            ("artifacts", "_validate_required_params_artifacts"),
        ):
            original_validator = getattr(responses, validator_name)

            def validate(value: dict[str, Any], _original: Any = original_validator, _block: str = block) -> None:
                if value.get("type") in _CODEBUILD_NO_LOCATION[_block] and not value.get("location"):
                    return
                _original(value)

            setattr(responses, validator_name, validate)
        responses._mlplatform_locations = True  # type: ignore[attr-defined]

    def badge(project: Any, enabled: bool) -> dict[str, Any]:
        if not enabled:
            return {"badgeEnabled": False}
        # AWS's badge URL shape; nothing serves it on the emulator.
        region = project.arn.split(":")[3]
        return {
            "badgeEnabled": True,
            "badgeRequestUrl": f"https://codebuild.{region}.amazonaws.com/badges?uuid={project.arn.rsplit('/', 1)[-1]}",
        }

    def update_project(self: Any, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        project = self.codebuild_projects.get(name)
        if project is None:
            raise ResourceNotFoundException(f"Failed to call UpdateProject, reason: Project cannot be found: {name}")
        metadata: dict[str, Any] = project.project_metadata
        for key, value in changes.items():
            if key == "badgeEnabled":
                metadata["badge"] = badge(project, bool(value))
            elif key == "serviceRole":
                metadata["serviceRole"] = project.service_role = value
            elif key == "description" and value == "":
                metadata.pop("description", None)  # AWS reads an emptied description back as absent
            else:
                metadata[key] = value
        metadata["lastModifiedDate"] = unix_time()
        return metadata

    def handle_update_project(self: Any) -> ActionResult:
        changes = {key: self._get_param(key) for key in (*_CODEBUILD_UPDATABLE, "serviceRole", "badgeEnabled")}
        changes = {key: value for key, value in changes.items() if value is not None}
        if "source" in changes:
            responses._validate_required_params_source(changes["source"])
        if "artifacts" in changes:
            responses._validate_required_params_artifacts(changes["artifacts"])
        if "environment" in changes:
            responses._validate_required_params_environment(changes["environment"])
        if "serviceRole" in changes:
            responses._validate_required_params_service_role(self.current_account, self.region, changes["serviceRole"])
        for key in ("timeoutInMinutes", "queuedTimeoutInMinutes"):
            if key in changes and not isinstance(changes[key], int):
                raise InvalidInputException(f"Invalid {key}: {changes[key]}")
        project = self.codebuild_backend.update_project(self._get_param("name"), changes)
        return ActionResult({"project": project})

    _add_missing(CodeBuildBackend, update_project=update_project)
    _add_missing(responses.CodeBuildResponse, update_project=handle_update_project)

    # encryptionKey and badgeEnabled on create: only while moto's create handler ignores them.
    source = inspect.getsource(responses.CodeBuildResponse.create_project)
    if ("encryptionKey" in source and "badgeEnabled" in source) or getattr(
        responses.CodeBuildResponse, "_mlplatform_create_settings", False
    ):
        return
    original_create = responses.CodeBuildResponse.create_project

    def create_project(self: Any) -> Any:
        result = original_create(self)
        project = self.codebuild_backend.codebuild_projects[self._get_param("name")]
        if self._get_param("encryptionKey"):
            project.project_metadata["encryptionKey"] = self._get_param("encryptionKey")
        if self._get_param("badgeEnabled") is not None:
            project.project_metadata["badge"] = badge(project, bool(self._get_param("badgeEnabled")))
        return result

    responses.CodeBuildResponse.create_project = create_project  # type: ignore[method-assign]
    responses.CodeBuildResponse._mlplatform_create_settings = True  # type: ignore[attr-defined]


def _return_s3_eventbridge_notification() -> None:
    """S3 ``GetBucketNotificationConfiguration`` omits ``EventBridgeConfiguration`` (moto 5.2.5).

    moto's ``PutBucketNotificationConfiguration`` stores ``EventBridgeConfiguration`` (and sends events to
    EventBridge), but ``S3Response.get_bucket_notification`` builds its answer from the topic, queue and
    Lambda configurations only: a bucket with EventBridge notifications on reads back as having them off,
    so every refresh reports drift. The patch adds the (empty) element to the answer when it is stored.
    """
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    if "event_bridge" in inspect.getsource(S3Response.get_bucket_notification) or getattr(
        S3Response, "_mlplatform_eventbridge", False
    ):
        return
    original = S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or getattr(config, "event_bridge", None) is None:
            return original(self)
        serialized = self.serialized

        def with_eventbridge(action_result: ActionResult) -> Any:
            result = action_result.result
            if isinstance(result, dict) and "EventBridgeConfiguration" not in result:
                action_result = ActionResult({**result, "EventBridgeConfiguration": {}})
            return serialized(action_result)

        self.serialized = with_eventbridge
        try:
            return original(self)
        finally:
            del self.serialized

    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]
    S3Response._mlplatform_eventbridge = True  # type: ignore[attr-defined]


def _fix_s3_logging_permission_check() -> None:
    """S3 ``PutBucketLogging`` answers HTTP 500 when the target bucket's policy has a ``"Principal": "*"`` statement.

    moto 5.2.5's ``FakeBucket._log_permissions_enabled_policy`` (which checks that the log bucket lets
    ``logging.s3.amazonaws.com`` write) calls ``stmt.get("Principal", {}).get("Service")``: a statement whose
    principal is the string ``"*"`` (the usual ``DenyInsecureTransport`` statement every hardened log bucket
    has) raises ``AttributeError``. It also compares ``Resource`` as a single string, so a grant listing its
    resources is missed. The replacement reads principals, actions and resources as IAM does (a string or
    a list each). Applied only while moto's check fails on such a policy.
    """
    import json
    from types import SimpleNamespace

    from moto.s3.models import FakeBucket
    from moto.s3.utils import LOGGING_SERVICE_PRINCIPAL

    original = FakeBucket._log_permissions_enabled_policy
    probe = SimpleNamespace(
        name="probe", partition="aws",
        policy=json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"}]}).encode(),
    )  # fmt: skip
    try:
        original(probe, None)  # type: ignore[arg-type]
        return  # moto handles string principals itself
    except AttributeError:
        pass

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value] if value is not None else []

    def log_permissions_enabled_policy(target_bucket: Any, target_prefix: str | None) -> bool:
        if not target_bucket.policy:
            return False
        base = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
        accepted = {f"{base}/{target_prefix or ''}*", f"{base}/*", base}
        for stmt in json.loads(target_bucket.policy.decode())["Statement"]:
            principal = stmt.get("Principal")
            services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
            if LOGGING_SERVICE_PRINCIPAL not in services or stmt.get("Effect") != "Allow":
                continue
            if not {"s3:PutObject", "s3:*", "*"} & set(as_list(stmt.get("Action"))):
                continue
            if accepted & set(as_list(stmt.get("Resource"))):
                return True
        return False

    FakeBucket._log_permissions_enabled_policy = staticmethod(log_permissions_enabled_policy)  # type: ignore[method-assign]


# What the emulator knows of a request when it evaluates a bucket policy's conditions. It stands in for AWS's
# HTTPS endpoint (clients reach it over plain HTTP only because it is on loopback), so requests count as TLS.
_S3_REQUEST_CONTEXT = {"aws:securetransport": "true"}


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """Whether an IAM ``Condition`` block holds for ``context`` (lower-cased keys), as IAM evaluates it.

    Every operator must hold; within one, every key; a key holds when any expected value matches. A key with
    no value in the context holds only under ``...IfExists`` or ``Null: true``. Operators beyond the string,
    Bool and Null families never hold, so a statement that depends on them is left out (not guessed at).
    """
    import fnmatch

    for operator, keys in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, expected in keys.items():
            values = [
                str(v).lower() if base == "Bool" else str(v)
                for v in (expected if isinstance(expected, list) else [expected])
            ]
            actual = context.get(key.lower())
            if base == "Null":
                if (actual is None) != ("true" in [v.lower() for v in values]):
                    return False
                continue
            if actual is None:
                if not if_exists:
                    return False
                continue
            if base in ("Bool", "StringEquals"):
                holds = actual in values
            elif base == "StringNotEquals":
                holds = actual not in values
            elif base == "StringEqualsIgnoreCase":
                holds = actual.lower() in [v.lower() for v in values]
            elif base == "StringLike":
                holds = any(fnmatch.fnmatchcase(actual, v) for v in values)
            elif base == "StringNotLike":
                holds = not any(fnmatch.fnmatchcase(actual, v) for v in values)
            else:
                return False
            if not holds:
                return False
    return True


def _evaluate_s3_bucket_policy_conditions() -> None:
    """S3 object requests answer 403 when the bucket policy has a conditional ``Deny`` (moto 5.2.5).

    moto checks every object request (Get/Head/Put/DeleteObject) against the bucket policy with its IAM
    statement evaluator, which understands only ``StringEquals`` conditions and treats any other operator as
    holding. The standard TLS-only statement (``Deny s3:* to "*" when Bool aws:SecureTransport = false``)
    therefore denies *every* object request, so an object in a hardened bucket can be written before the
    policy exists but never read, refreshed or deleted again. The replacement evaluates each statement's
    conditions properly (:func:`_condition_holds`) against what the emulator knows of a request (it counts
    as TLS); a statement whose conditions do not hold does not apply, as in IAM. The rest (actions,
    resources, the principal ``"*"`` check) stays moto's.
    """
    import json

    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket, "_mlplatform_policy_conditions", False):
        return
    tls_only = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::probe/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
    if IAMPolicyStatement(tls_only).is_action_permitted("s3:GetObject", "arn:aws:s3:::probe/k") is not (
        PermissionResult.DENIED
    ):
        return  # moto evaluates Bool conditions itself

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode()).get("Statement") or []
        result = PermissionResult.NEUTRAL
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Condition") and not _condition_holds(statement["Condition"], _S3_REQUEST_CONTEXT):
                continue
            unconditional = {key: value for key, value in statement.items() if key != "Condition"}
            permission = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
            if permission == PermissionResult.DENIED:
                return permission
            if permission == PermissionResult.PERMITTED:
                result = permission
        return result

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    FakeBucket._mlplatform_policy_conditions = True  # type: ignore[attr-defined]


def _drop_glue_database_tags_on_delete() -> None:
    """Glue ``DeleteDatabase`` keeps the database's tags in moto 5.2.5.

    moto's ``GlueBackend.delete_database`` removes the database but not the entry in its tagging service,
    so the Resource Groups Tagging API still lists ``arn:…:database/<name>`` with its tags after the
    database is gone (AWS deletes a resource's tags with it). A ``destroy`` then looks as if it leaked a
    tagged resource.
    """
    from moto.glue.models import GlueBackend

    if getattr(GlueBackend, "_mlplatform_drops_tags", False):
        return
    original = GlueBackend.delete_database

    def delete_database(self: Any, database_name: str) -> None:
        original(self, database_name)
        arn = f"arn:{self.partition}:glue:{self.region_name}:{self.account_id}:database/{database_name}"
        self.tagger.delete_all_tags_for_resource(arn)

    GlueBackend.delete_database = delete_database  # type: ignore[method-assign]
    GlueBackend._mlplatform_drops_tags = True  # type: ignore[attr-defined]


def _describe_group_rule_descriptions() -> None:
    """EC2 ``DescribeSecurityGroupRules`` drops the description of a rule that references a security group.

    moto 5.2.5's ``SecurityGroupRule.description`` reads the description only from the rule's IP range; a rule
    whose source is another security group keeps its description in ``source_group``, so the API answers
    without ``Description`` and every refresh reports the description as changed outside mlplatform.
    """
    from moto.ec2.models.security_groups import SecurityGroupRule as SecurityRule

    if getattr(SecurityRule, "_mlplatform_group_descriptions", False):
        return

    def description(self: Any) -> str | None:
        return self.ip_range.get("Description") or (self.source_group or {}).get("Description")

    SecurityRule.description = property(description)  # type: ignore[assignment,method-assign]
    SecurityRule._mlplatform_group_descriptions = True  # type: ignore[attr-defined]


def _describe_prefix_list_rule_descriptions() -> None:
    """EC2 ``DescribeSecurityGroupRules`` drops the description of a rule whose destination is a prefix list.

    moto 5.2.5's ``SecurityGroupRule`` keeps only the id of a ``PrefixListIds`` entry and reads descriptions from
    the IP range (or, patched above, the referenced group), so a rule to S3's prefix list (the workload group's
    HTTPS-to-S3 rule) answers without ``Description`` and every refresh reports it as changed.
    """
    from moto.ec2.models.security_groups import SecurityGroupRule as SecurityRule

    if getattr(SecurityRule, "_mlplatform_prefix_descriptions", False):
        return
    original_init = SecurityRule.__init__
    signature = inspect.signature(original_init)
    described = SecurityRule.description

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        prefix_list = signature.bind(self, *args, **kwargs).arguments.get("prefix_list_id") or {}
        self._mlplatform_prefix_description = prefix_list.get("Description")

    def description(self: Any) -> str | None:
        return described.fget(self) or getattr(self, "_mlplatform_prefix_description", None)  # type: ignore[attr-defined]

    SecurityRule.__init__ = __init__  # type: ignore[method-assign]
    SecurityRule.description = property(description)  # type: ignore[assignment,method-assign]
    SecurityRule._mlplatform_prefix_descriptions = True  # type: ignore[attr-defined]


def _fix_sagemaker_endpoint_config_arn() -> None:
    """The Resource Groups Tagging API lists an endpoint configuration's ARN as ``"('arn:…',)"``.

    moto 5.2.5's ``FakeEndpointConfig`` sets ``self.arn`` to a one-element tuple, and the tagging backend
    prints it as a string. ``mlplatform import`` compares tagged ARNs with the ARNs in state to report what is
    tagged for an environment but not managed, so every endpoint configuration looked unmanaged.
    """
    from moto.sagemaker.models import FakeEndpointConfig

    if getattr(FakeEndpointConfig, "_mlplatform_arn_fixed", False):
        return
    original = FakeEndpointConfig.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if isinstance(self.arn, tuple):
            self.arn = self.endpoint_config_arn

    FakeEndpointConfig.__init__ = __init__  # type: ignore[method-assign]
    FakeEndpointConfig._mlplatform_arn_fixed = True  # type: ignore[attr-defined]


def _accept_sagemaker_instance_types_from_botocore() -> None:
    """SageMaker instance types: moto 5.2.5 checks them against its own, years-old lists.

    moto validates ``InstanceType`` in ``CreateEndpointConfig`` (``FakeEndpointConfig.validate_instance_type``),
    ``CreateNotebookInstance`` (``FakeSagemakerNotebookInstance.validate_instance_type``), ``CreateCluster``
    (``Cluster.valid_cluster_node_instance_types``) and ``CreateModelPackage``'s supported types
    (``ModelPackage.validate_supported_*_instance_types``) against lists written into its source; they lack
    whole families AWS has offered for years (``ml.g5.*``, ``ml.inf2.*``, ``ml.p4d.*`` on endpoints), so the
    emulator refuses an endpoint that ``mlplatform validate`` — which reads botocore's model — accepts.
    The patch checks each against the enum of the same request member in the botocore model installed next
    to moto (found by following the operation's input shape), with moto's ValidationException wording.
    """
    import functools

    import botocore.session
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import Cluster, FakeEndpointConfig, FakeSagemakerNotebookInstance, ModelPackage

    if getattr(FakeEndpointConfig, "_mlplatform_botocore_instance_types", False):
        return

    @functools.cache
    def accepted(operation: str, *members: str) -> frozenset[str]:
        # Loaded on first use (about 0.4 s), not at server start.
        shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).input_shape
        for member in members:
            while shape.type_name == "list":
                shape = shape.member
            shape = shape.members[member]
        while shape.type_name == "list":
            shape = shape.member
        return frozenset(shape.enum)

    def checker(where: str, operation: str, *members: str) -> Callable[[str], None]:
        def check(instance_type: str) -> None:
            allowed = accepted(operation, *members)
            if instance_type not in allowed:
                raise ValidationError(
                    message=f"Value '{instance_type}' at '{where}' failed to satisfy constraint: Member must "
                    f"satisfy enum value set: {sorted(allowed)}"
                )

        return check

    endpoint = checker("instanceType", "CreateEndpointConfig", "ProductionVariants", "InstanceType")
    notebook = checker("instanceType", "CreateNotebookInstance", "InstanceType")
    cluster = checker("InstanceType", "CreateCluster", "InstanceGroups", "InstanceType")
    specification = ("CreateModelPackage", "AdditionalInferenceSpecifications")
    transform = checker("SupportedTransformInstanceTypes", *specification, "SupportedTransformInstanceTypes")
    realtime = checker(
        "SupportedRealtimeInferenceInstanceTypes", *specification, "SupportedRealtimeInferenceInstanceTypes"
    )

    def validate_endpoint_instance_type(self: Any, instance_type: str) -> None:
        endpoint(instance_type)

    def validate_notebook_instance_type(self: Any, instance_type: str) -> None:
        notebook(instance_type)

    def valid_cluster_node_instance_types(self: Any, instance_type: str) -> None:
        cluster(instance_type)

    def validate_supported_transform_instance_types(instance_types: list[str]) -> None:
        for instance_type in instance_types:
            transform(instance_type)

    def validate_supported_realtime_inference_instance_types(instance_types: list[str]) -> None:
        for instance_type in instance_types:
            realtime(instance_type)

    FakeEndpointConfig.validate_instance_type = validate_endpoint_instance_type  # type: ignore[method-assign]
    FakeSagemakerNotebookInstance.validate_instance_type = validate_notebook_instance_type  # type: ignore[method-assign]
    Cluster.valid_cluster_node_instance_types = valid_cluster_node_instance_types  # type: ignore[method-assign]
    ModelPackage.validate_supported_transform_instance_types = staticmethod(  # type: ignore[method-assign]
        validate_supported_transform_instance_types
    )
    ModelPackage.validate_supported_realtime_inference_instance_types = staticmethod(  # type: ignore[method-assign]
        validate_supported_realtime_inference_instance_types
    )
    FakeEndpointConfig._mlplatform_botocore_instance_types = True  # type: ignore[attr-defined]


def _authorize_sagemaker_and_codebuild_by_resource() -> None:
    """IAM access control: SageMaker and CodeBuild requests are checked against the resource they name.

    moto enforces IAM policies when its access control is on (``INITIAL_NO_AUTH_ACTION_COUNT``, or
    ``POST /moto-api/reset-auth``), but moto 5.2.5 checks a request against the resource ``*`` unless the
    service's response class defines ``_determine_resource`` (only IAM, STS and SQS do). A policy that
    scopes ``sagemaker:UpdateEndpoint`` to ``endpoint/<name>`` then never matches: every resource-scoped
    permission is denied and only ``"Resource": "*"`` is allowed, the opposite of AWS. This names the
    resource as AWS's authorization does, for the requests whose resource the name identifies:

    - SageMaker ``<Verb><Noun>`` operations that carry ``<Noun>Name`` (``UpdateEndpoint`` +
      ``EndpointName`` -> ``arn:…:endpoint/<name>``, lowercased as SageMaker's ARNs are);
    - CodeBuild operations that carry ``projectName`` (``StartBuild``) -> ``arn:…:project/<name>``.

    Anything else keeps moto's ``*``. Without access control on (the emulator's default) moto ignores the
    resource, so nothing changes for ordinary use. Shown by tests/integration/test_cicd_roles.py.
    """
    import re

    from moto.codebuild.responses import CodeBuildResponse
    from moto.sagemaker.responses import SageMakerResponse

    verbs = re.compile(r"^(Create|Describe|Update|Delete|Start|Stop|List|Get|Put|Add|Search)(?P<noun>[A-Za-z]+)$")

    def sagemaker_resource(self: Any) -> str:
        match = verbs.match(self._get_action())
        name = self._get_param(f"{match.group('noun')}Name") if match else None
        if not isinstance(name, str) or not name:
            return "*"
        if name.startswith("arn:"):
            return name
        kind = re.sub(r"(?<!^)(?=[A-Z])", "-", match.group("noun")).lower() if match else ""
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.current_account}:{kind}/{name.lower()}"

    def codebuild_resource(self: Any) -> str:
        name = self._get_param("projectName")
        if not isinstance(name, str) or not name:
            return "*"
        if name.startswith("arn:"):
            return name
        return f"arn:{self.partition}:codebuild:{self.region}:{self.current_account}:project/{name}"

    _add_missing(SageMakerResponse, _determine_resource=sagemaker_resource)
    _add_missing(CodeBuildResponse, _determine_resource=codebuild_resource)


def _add_missing(cls: type, **methods: Callable[..., Any]) -> None:
    """Add methods a moto class lacks; a moto release that implements one itself keeps its own."""
    for name, method in methods.items():
        if not hasattr(cls, name):
            setattr(cls, name, method)


def _detach() -> None:
    """Become a daemon: the launching process prints the server's pid on stdout and exits at once.

    The server is then nobody's child: it survives the command that started it (``mlplatform emulator
    start`` returns immediately), is not a zombie in a long-running caller when it exits, and, in its own
    session, does not get the terminal's Ctrl-C meant for ``mlplatform up``. This runs before moto is
    imported, while the process is still single-threaded, so ``fork`` is safe.
    """
    pid = os.fork()
    if pid > 0:
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
        os._exit(0)
    os.setsid()
    # stdout is the launcher's pipe: point it at stderr (the log file) so the reader sees end-of-file.
    os.dup2(2, 1)


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, detach if asked, patch moto and run its server until SIGTERM.

    Args:
        argv: command-line arguments without the program name; ``sys.argv[1:]`` when ``None``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m mlplatform.emulator_server", description="moto's server with mlplatform's patches."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="port to bind")
    parser.add_argument("--detach", action="store_true", help="run in the background; print the server's pid")
    args = parser.parse_args(argv)
    if args.detach:
        _detach()
    # moto builds some URLs it returns (SQS queue URLs, for example) from MOTO_PORT; a value inherited from
    # the caller's environment would point them at the wrong port.
    os.environ["MOTO_PORT"] = str(args.port)
    apply_patches()
    from moto.server import main as moto_main

    moto_main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
