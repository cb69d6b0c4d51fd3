"""Fixes for moto's SageMaker gaps (model registry, feature groups, endpoints, notebooks, domains, models, tags).

Each patch, the gap it closes, and the test that shows the gap on plain moto (the test after it shows the
fix through the emulator; a test named with no file is in tests/integration/test_emulator_patches.py):

- ``add_delete_model_package_group``: no ``DeleteModelPackageGroup`` (HTTP 500), so no registry can be
  destroyed. tests/integration/test_emulator.py::test_delete_model_package_group_fails_on_plain_moto
- ``fix_tags``: ``AddTags`` appends instead of overwriting; feature-group and monitoring-schedule ARNs, and
  unknown ARNs, answer HTTP 500. test_tags_on_plain_moto_append_and_fail_for_feature_groups
- ``add_feature_group_lifecycle``: no ``DeleteFeatureGroup``, a 500 for an unknown group, and settings
  ``CreateFeatureGroup`` drops. test_feature_groups_on_plain_moto
- ``add_update_endpoint``: no ``UpdateEndpoint`` (HTTP 500). test_update_endpoint_on_plain_moto
- ``add_notebook_instance_settings``: no ``UpdateNotebookInstance``; ``PlatformIdentifier`` and the IMDS
  setting dropped. test_notebook_instances_on_plain_moto
- ``add_update_domain``: no ``UpdateDomain`` (HTTP 500). test_update_domain_on_plain_moto
- ``keep_model_network_isolation``: ``EnableNetworkIsolation`` ignored.
  test_model_network_isolation_on_plain_moto
- ``fix_endpoint_config_arn``: the tagging API lists an endpoint configuration's ARN as a tuple.
  test_endpoint_config_arn_in_the_tagging_api_is_a_tuple_on_plain_moto
- ``accept_instance_types_from_botocore``: instance types checked against moto's outdated lists.
  test_gpu_instance_types_on_plain_moto

Monitoring schedules, which moto lacks altogether, are :mod:`.sagemaker_monitoring`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlplatform.emulator.patches.sagemaker_monitoring import monitoring_schedules
from mlplatform.emulator.patches.support import add_operations, first_time, lacks_parameter, run_after


def add_delete_model_package_group() -> None:
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

    add_operations(
        SageMakerModelBackend,
        SageMakerResponse,
        delete_model_package_group=(delete_model_package_group, handle_delete_model_package_group),
    )


def fix_tags() -> None:
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

    if not first_time(SageMakerModelBackend, "_mlplatform_tags_fixed"):
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
            resource = monitoring_schedules(self).get(name)
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


def add_feature_group_lifecycle() -> None:
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

    add_operations(
        SageMakerModelBackend,
        SageMakerResponse,
        delete_feature_group=(delete_feature_group, handle_delete_feature_group),
    )

    if not lacks_parameter(FeatureGroup, "online_store_config", "_mlplatform_feature_group_settings"):
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


def add_update_endpoint() -> None:
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

    add_operations(SageMakerModelBackend, SageMakerResponse, update_endpoint=(update_endpoint, handle_update_endpoint))


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


def add_notebook_instance_settings() -> None:
    """SageMaker notebook instances: ``UpdateNotebookInstance``, and two settings moto drops.

    moto 5.2.5 has no ``UpdateNotebookInstance`` (HTTP 500, ``NotImplementedError``), and its
    ``CreateNotebookInstance`` ignores ``PlatformIdentifier`` and ``InstanceMetadataServiceConfiguration``
    (IMDSv2-only is a security setting), so ``Describe`` never reports them. Like AWS, an update is only
    accepted while the instance is ``Stopped``.
    """

    from moto.core.responses import EmptyResult
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

    add_operations(
        SageMakerModelBackend,
        SageMakerResponse,
        update_notebook_instance=(update_notebook_instance, handle_update_notebook_instance),
    )

    if not lacks_parameter(FakeSagemakerNotebookInstance, "platform_identifier", "_mlplatform_settings"):
        return
    original_to_dict = FakeSagemakerNotebookInstance.to_dict

    def keep_settings(self: Any) -> None:
        notebook = self.sagemaker_backend.get_notebook_instance(self._get_param("NotebookInstanceName"))
        notebook.platform_identifier = self._get_param("PlatformIdentifier")
        notebook.instance_metadata_service_configuration = self._get_param("InstanceMetadataServiceConfiguration")

    def to_dict(self: Any) -> dict[str, Any]:
        described: dict[str, Any] = original_to_dict(self)
        described["PlatformIdentifier"] = getattr(self, "platform_identifier", None)
        described["InstanceMetadataServiceConfiguration"] = getattr(
            self, "instance_metadata_service_configuration", None
        )
        return described

    run_after(SageMakerResponse, "create_notebook_instance", keep_settings)
    FakeSagemakerNotebookInstance.to_dict = to_dict  # type: ignore[method-assign]


def add_update_domain() -> None:
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

    add_operations(SageMakerModelBackend, SageMakerResponse, update_domain=(update_domain, handle_update_domain))


def keep_model_network_isolation() -> None:
    """SageMaker ``CreateModel`` ignores ``EnableNetworkIsolation`` in moto 5.2.5.

    moto's ``Model`` hard-codes ``enable_network_isolation = False`` and its ``CreateModel`` handler never reads
    the parameter, so ``DescribeModel`` reports a network-isolated model as not isolated (a security setting
    that silently disappears, and drift on every refresh). Applied only while moto's ``Model`` takes no
    ``enable_network_isolation`` argument.
    """
    from moto.sagemaker.models import Model
    from moto.sagemaker.responses import SageMakerResponse

    if not lacks_parameter(Model, "enable_network_isolation", "_mlplatform_network_isolation"):
        return

    def keep_network_isolation(self: Any) -> None:
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))

    run_after(SageMakerResponse, "create_model", keep_network_isolation)


def fix_endpoint_config_arn() -> None:
    """The Resource Groups Tagging API lists an endpoint configuration's ARN as ``"('arn:…',)"``.

    moto 5.2.5's ``FakeEndpointConfig`` sets ``self.arn`` to a one-element tuple, and the tagging backend
    prints it as a string. ``mlplatform import`` compares tagged ARNs with the ARNs in state to report what is
    tagged for an environment but not managed, so every endpoint configuration looked unmanaged.
    """
    from moto.sagemaker.models import FakeEndpointConfig

    if not first_time(FakeEndpointConfig, "_mlplatform_arn_fixed"):
        return
    original = FakeEndpointConfig.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if isinstance(self.arn, tuple):
            self.arn = self.endpoint_config_arn

    FakeEndpointConfig.__init__ = __init__  # type: ignore[method-assign]


def accept_instance_types_from_botocore() -> None:
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

    if not first_time(FakeEndpointConfig, "_mlplatform_botocore_instance_types"):
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
