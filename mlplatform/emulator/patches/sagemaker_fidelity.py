"""Fixes for the moto SageMaker gaps that stand between a local update and the provider's in-place update.

The Terraform provider updates a feature group's ``throughput_config`` and a domain's ``domain_settings`` and
``tag_propagation`` in place; without these patches the emulator could not show such an update. Each patch, the
gap it closes, and the tests that show the gap on plain moto and the fix through the emulator (in
tests/integration/test_emulator_patches.py), and the handler's in-place update built on it:

- ``add_update_feature_group``: no ``UpdateFeatureGroup`` (HTTP 500), and ``ThroughputConfig`` dropped
  (``DescribeFeatureGroup`` always says OnDemand).
  test_update_feature_group_and_throughput_on_plain_moto, test_update_feature_group_and_throughput_through_the_emulator
  tests/integration/test_fidelity_sagemaker.py::test_feature_group_throughput_updates_in_place
- ``keep_domain_settings_updates``: ``UpdateDomain`` (mlplatform's) ignores ``DomainSettingsForUpdate`` and
  ``TagPropagation``, and ``CreateDomain`` drops ``TagPropagation``.
  test_domain_tag_propagation_and_settings_on_plain_moto,
  test_domain_tag_propagation_and_settings_through_the_emulator
  tests/integration/test_fidelity_sagemaker.py::test_domain_settings_and_tag_propagation_update_in_place
"""

from __future__ import annotations

from typing import Any

from mlplatform.emulator.patches.support import add_operations, first_time, run_after


def add_update_feature_group() -> None:
    """SageMaker ``UpdateFeatureGroup`` (moto 5.2.5 has none) and the ``ThroughputConfig`` moto drops.

    ``UpdateFeatureGroup`` changes the throughput mode or provisioned capacity and the online store's TTL in place
    (AWS accepts it on a ``Created`` group); ``CreateFeatureGroup``'s ``ThroughputConfig`` is kept and
    ``DescribeFeatureGroup`` reports it (moto answers a fixed ``OnDemand``).
    """
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ResourceNotFound
    from moto.sagemaker.models import FeatureGroup, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def find(backend: Any, name: str) -> Any:
        key = name.rsplit("/", 1)[-1].lower()
        for group in backend.feature_groups.values():
            if group.feature_group_name.lower() == key:
                return group
        raise ResourceNotFound(message=f"Resource Not Found: FeatureGroup {name} does not exist.")

    def update_feature_group(self: Any, feature_group_name: str, **changes: Any) -> str:
        group = find(self, feature_group_name)
        if changes.get("throughput_config"):
            wanted = dict(changes["throughput_config"])
            current = dict(getattr(group, "_mlplatform_throughput", None) or {"ThroughputMode": "OnDemand"})
            if wanted.get("ThroughputMode", current.get("ThroughputMode")) == "OnDemand":
                current = {"ThroughputMode": "OnDemand"}
            group._mlplatform_throughput = {**current, **wanted}
        if changes.get("online_store_config"):
            stored = dict(getattr(group, "online_store_config", None) or {})
            group.online_store_config = {**stored, **changes["online_store_config"]}
        return str(group.arn)

    def handle_update_feature_group(self: Any) -> ActionResult:
        arn = self.sagemaker_backend.update_feature_group(
            self._get_param("FeatureGroupName"),
            throughput_config=self._get_param("ThroughputConfig"),
            online_store_config=self._get_param("OnlineStoreConfig"),
        )
        return ActionResult({"FeatureGroupArn": arn})

    add_operations(
        SageMakerModelBackend,
        SageMakerResponse,
        update_feature_group=(update_feature_group, handle_update_feature_group),
    )
    if not first_time(FeatureGroup, "_mlplatform_throughput_kept"):
        return

    def keep(response: Any) -> None:
        requested = response._get_param("ThroughputConfig")
        if requested:
            find(response.sagemaker_backend, response._get_param("FeatureGroupName"))._mlplatform_throughput = dict(
                requested
            )

    run_after(SageMakerResponse, "create_feature_group", keep)
    original_describe = FeatureGroup.describe

    def describe(self: Any) -> dict[str, Any]:
        described: dict[str, Any] = original_describe(self)
        throughput = getattr(self, "_mlplatform_throughput", None)
        if throughput:
            described["ThroughputConfig"] = dict(throughput)
        return described

    FeatureGroup.describe = describe  # type: ignore[method-assign]


def keep_domain_settings_updates() -> None:
    """``TagPropagation`` on create and update, and ``DomainSettingsForUpdate`` on ``UpdateDomain``.

    Moto's ``Domain`` keeps ``DomainSettings`` from ``CreateDomain`` but has no ``TagPropagation``; the
    ``UpdateDomain`` that :func:`.sagemaker.add_update_domain` adds ignores both. Top-level keys of
    ``DomainSettingsForUpdate`` given replace the stored ones (the ``*ForUpdate`` RStudio key is stored under its
    ``DomainSettings`` name), as AWS does.
    """
    from moto.sagemaker.models import Domain
    from moto.sagemaker.responses import SageMakerResponse

    if not first_time(Domain, "_mlplatform_domain_settings_updates"):
        return

    def domain_of(response: Any, domain_id: str | None) -> Any:
        return response.sagemaker_backend.domains.get(domain_id) if domain_id else None

    def keep_created(response: Any) -> None:
        propagation = response._get_param("TagPropagation")
        if not propagation:
            return
        name = response._get_param("DomainName")
        for domain in response.sagemaker_backend.domains.values():
            if domain.domain_name == name:
                domain._mlplatform_tag_propagation = propagation

    def keep_updated(response: Any) -> None:
        domain = domain_of(response, response._get_param("DomainId"))
        if domain is None:
            return
        propagation = response._get_param("TagPropagation")
        if propagation:
            domain._mlplatform_tag_propagation = propagation
        settings = dict(response._get_param("DomainSettingsForUpdate") or {})
        if settings:
            rstudio = settings.pop("RStudioServerProDomainSettingsForUpdate", None)
            if rstudio is not None:
                settings["RStudioServerProDomainSettings"] = rstudio
            domain.domain_settings = {**(domain.domain_settings or {}), **settings}

    run_after(SageMakerResponse, "create_domain", keep_created)
    run_after(SageMakerResponse, "update_domain", keep_updated)
    original_describe = Domain.describe

    def describe(self: Any) -> dict[str, Any]:
        described: dict[str, Any] = original_describe(self)
        described["TagPropagation"] = getattr(self, "_mlplatform_tag_propagation", None) or "DISABLED"
        return described

    Domain.describe = describe  # type: ignore[method-assign]
