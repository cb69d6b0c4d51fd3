"""Rules that relate several components of one environment's :class:`~mlplatform.spec.models.PlatformSpec`.

A component's own model checks what it can see alone (a subnet fits its VPC, a canary has a rollback
alarm). What needs two or more components, or a component and the environment's target, region or
account, is here: what a maturity level requires, which component needs which, images that must name
a repository of the container registry, monitoring that needs captured endpoint data, the account
guards of target ``aws`` and ``local``, and the physical names the components will derive (checked
against AWS's limits before anything is deployed).

Each rule returns :class:`~mlplatform.spec.aws_rules.Finding` objects located at the field the user
should edit; ``PlatformSpec``'s model validator reports them all at once. To add a rule, write a function
``(spec, on) -> list[Finding]`` and add it to :data:`_RULES` in the order its problems should be listed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mlplatform.spec import aws_rules, awsmodel, names
from mlplatform.spec.aws_rules import Finding
from mlplatform.spec.images import MODEL_MONITOR_ACCOUNTS, MODEL_MONITOR_REPOSITORY

if TYPE_CHECKING:
    from mlplatform.spec.models import PlatformSpec

Loc = tuple[str | int, ...]

EMULATOR_ACCOUNT_ID = "123456789012"
"""The account moto's server pretends to be; target ``local`` always deploys there."""

COMPONENT_NEEDS: dict[str, tuple[str, ...]] = {
    "artifact_store": ("encryption",),
    "container_registry": ("encryption",),
    "dev_environment": ("network", "identity", "encryption"),
    "feature_store": ("artifact_store", "encryption", "identity"),
    "training": ("artifact_store", "identity"),
    "pipelines": ("registry", "artifact_store", "training", "identity"),
    "serving": ("identity", "encryption", "artifact_store"),
    "monitoring": ("encryption",),
    "cicd": ("registry", "artifact_store", "identity", "serving"),
}
"""Components that cannot work without others (a notebook is VPC-only, so it needs the network)."""

LEVEL_REQUIREMENTS: dict[int, tuple[str, ...]] = {
    0: ("encryption", "artifact_store", "container_registry", "identity", "registry", "monitoring"),
    1: ("network", "feature_store", "training", "pipelines"),
    2: ("serving", "cicd"),
}
"""Components a maturity level cannot do without (each level also needs the levels below it)."""


def findings(spec: PlatformSpec) -> list[Finding]:
    """Every cross-component problem of ``spec``, in the order the user should read them."""
    on = set(spec.enabled_components())
    return [finding for rule in _RULES for finding in rule(spec, on)]


def _levels(spec: PlatformSpec, on: set[str]) -> list[Finding]:
    """What the maturity level requires, then what each enabled component needs."""
    found = [
        Finding(
            (component, "enabled"),
            f"a level {spec.level} blueprint needs {component} (a level {level} capability); enable it or use a "
            "lower-level blueprint",
            False,
        )
        for level in range(spec.level + 1)
        for component in LEVEL_REQUIREMENTS[level]
        if component not in on
    ]
    reported = {c for level in range(spec.level + 1) for c in LEVEL_REQUIREMENTS[level] if c not in on}
    for component, needs in COMPONENT_NEEDS.items():
        if component in on:
            found += [
                Finding((dependency, "enabled"), f"{component} is enabled and needs {dependency}", False)
                for dependency in needs
                if dependency not in on and dependency not in reported
            ]
    return found


def _images(spec: PlatformSpec, on: set[str]) -> list[Finding]:
    """The pipeline's training type is allowed by training; short image names name the platform's repositories."""
    found = []
    if "pipelines" in on and "training" in on:
        allowed = spec.training.allowed_instance_types
        if spec.pipelines.training_instance_type not in allowed:
            found.append(
                Finding(
                    ("pipelines", "training_instance_type"),
                    f"not in training.allowed_instance_types ({', '.join(allowed)})",
                    spec.pipelines.training_instance_type,
                )
            )
    # Same reading as the program's: no `/` means `<repository>:<tag>` in the platform's own registry. An
    # unknown repository would otherwise reach SageMaker as a bare Docker Hub style name.
    images: list[tuple[Loc, str]] = []
    if "pipelines" in on:
        images.append((("pipelines", "image"), spec.pipelines.image))
    if "serving" in on:
        images += [
            (("serving", "endpoints", index, "model", "image"), endpoint.model.image)
            for index, endpoint in enumerate(spec.serving.endpoints)
            if endpoint.model is not None
        ]
    # Without a container registry the level rules already report it; the images are not checked.
    repositories = spec.container_registry.repositories if "container_registry" in on else []
    for where, image in images if "container_registry" in on else []:
        repository = image.partition(":")[0]
        if "/" not in image and repository not in repositories:
            found.append(
                Finding(
                    where,
                    f"{repository!r} is not one of container_registry.repositories "
                    f"({', '.join(repositories)}); add it there or give a full image URI",
                    image,
                )
            )
    return found


def _monitoring(spec: PlatformSpec, on: set[str]) -> list[Finding]:
    """Model monitoring needs level 1 and captured endpoint data; logs are kept for the security baseline."""
    if "monitoring" not in on:
        return []
    found = []
    monitoring = spec.monitoring
    if monitoring.model_quality.enabled:
        found.append(
            Finding(
                ("monitoring", "model_quality", "enabled"),
                "model-quality monitoring cannot be provisioned yet: pulumi-aws offers no model-quality job "
                "definition resource (data_quality is available)",
                True,
            )
        )
    quality = [m for m in ("data_quality", "model_quality") if getattr(monitoring, m).enabled]
    if spec.level < 1:
        found += [
            Finding(("monitoring", monitor, "enabled"), "model monitoring needs a level 1 or higher blueprint", True)
            for monitor in quality
        ]
    captured = [e for e in spec.serving.effective_endpoints() if e.model and e.data_capture_percent]
    if quality and spec.level >= 1 and spec.serving.endpoints and not captured:
        found.append(
            Finding(
                ("serving", "endpoints"),
                f"monitoring.{quality[0]} needs an endpoint with a model and data_capture_percent > 0",
                [e.name for e in spec.serving.endpoints],
            )
        )
    if monitoring.log_retention_days < 365:
        found.append(
            Finding(
                ("monitoring", "log_retention_days"),
                "the security baseline keeps logs for at least 365 days",
                monitoring.log_retention_days,
            )
        )
    return found


def _target_account(spec: PlatformSpec, on: set[str]) -> list[Finding]:
    """Target aws names its account; Model Monitor exists in the region; target local uses the emulator's."""
    found = []
    if spec.target == "aws" and spec.account_id is None:
        # Without the account every account guard falls away: trust policies lose aws:SourceAccount, the key
        # policy's principal and resource ARNs would name any account.
        found.append(
            Finding(
                ("account_id",),
                "target aws needs account_id: the account guards of every policy (trust policies' "
                "aws:SourceAccount, the key policy, resource ARNs) are built from it",
                None,
                allowed="the 12-digit AWS account id, quoted, at the top level of the environment file: "
                'account_id: "123456789012"',
            )
        )
    if "monitoring" in on and spec.monitoring.data_quality.enabled and spec.region not in MODEL_MONITOR_ACCOUNTS:
        found.append(
            Finding(
                ("monitoring", "data_quality", "enabled"),
                f"SageMaker Model Monitor is not offered in region {spec.region}: AWS publishes no "
                f"{MODEL_MONITOR_REPOSITORY} image there",
                True,
                allowed=f"data_quality.enabled: false, or a region with Model Monitor: "
                f"{', '.join(sorted(MODEL_MONITOR_ACCOUNTS))}",
            )
        )
    if spec.target == "local" and spec.account_id not in (None, EMULATOR_ACCOUNT_ID):
        found.append(
            Finding(
                ("account_id",),
                f"target local runs in the emulator's account {EMULATOR_ACCOUNT_ID}; remove account_id",
                spec.account_id,
            )
        )
    return found


def _account_resources(spec: PlatformSpec, on: set[str]) -> list[Finding]:
    """ARNs and names that must belong to the environment's own account, partition and S3 namespace."""
    found = []
    provider_arn = spec.cicd.github_oidc_provider_arn
    account = EMULATOR_ACCOUNT_ID if spec.target == "local" else spec.account_id
    own_partition = awsmodel.partition_of(spec.region) or "aws"
    if "cicd" in on and provider_arn and account:
        expected = f"arn:{own_partition}:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
        if provider_arn != expected:
            _, arn_partition, _, _, arn_account, _ = provider_arn.split(":", 5)
            found.append(
                Finding(
                    ("cicd", "github_oidc_provider_arn"),
                    f"the provider is in account {arn_account} ({arn_partition}), the environment deploys to "
                    f"{account} ({own_partition}): a role can trust only its own account's provider",
                    provider_arn,
                    allowed=expected,
                )
            )
    if "artifact_store" in on and spec.name.startswith(aws_rules.S3_BUCKET_PREFIXES):
        found.append(
            Finding(
                ("name",),
                f"bucket names start with the platform name, and S3 reserves the prefixes "
                f"{', '.join(aws_rules.S3_BUCKET_PREFIXES)}",
                spec.name,
                allowed="a platform name that does not start with them",
            )
        )
    boundary = spec.identity.permissions_boundary_arn
    partition = awsmodel.partition_of(spec.region)
    if "identity" in on and boundary and partition and boundary.split(":")[1] != partition:
        found.append(
            Finding(
                ("identity", "permissions_boundary_arn"),
                f"the ARN is in partition {boundary.split(':')[1]!r} but region {spec.region} is in {partition!r}",
                boundary,
                allowed=f"arn:{partition}:iam::<account>:policy/<name>",
            )
        )
    return found


def _names(spec: PlatformSpec, on: set[str]) -> list[Finding]:
    """Every physical name the components will derive is one AWS accepts."""
    found = []
    for loc, physical, api, template in _physical_names(spec, on):
        problem = aws_rules.name_problem(physical, api, template)
        if problem is not None:
            value = spec.name if loc == ("name",) else _value_at(spec, loc)
            found.append(Finding(loc, problem[0], value, allowed=problem[1]))
    return found


_RULES: tuple[Callable[[PlatformSpec, set[str]], list[Finding]], ...] = (
    _levels,
    _images,
    _monitoring,
    _target_account,
    _account_resources,
    _names,
)


OBJECT_LISTS: tuple[Loc, ...] = (("feature_store", "feature_groups"), ("serving", "endpoints"))
TEMPLATE_ITEMS: dict[Loc, str] = {
    ("container_registry", "repositories"): "repository",
    ("registry", "model_package_groups"): "group",
    ("feature_store", "feature_groups"): "feature group",
    ("serving", "endpoints"): "endpoint",
    ("cicd", "stages"): "stage",
}
"""How a problem's ``allowed:`` line names an item of each list a physical name is built from."""

Named = tuple[Loc, str, awsmodel.ApiMember, str]
"""A physical name: the field that decides it, the name, the API member that limits it, and its template."""


def _physical_names(spec: PlatformSpec, on: set[str]) -> list[Named]:
    """Names the components will give AWS resources, each with the field that decides it.

    A name built from a list item is reported at the item (the item is what a user shortens); one built
    from the platform name alone at ``name``.
    """
    platform = spec.name

    def per_item(
        field: Loc, values: list[Any], make: Callable[[str, str], str], api: awsmodel.ApiMember
    ) -> list[Named]:
        """One name per list item, located at the item (at its ``name`` for objects); ``None`` items name nothing."""
        item_name: Loc = ("name",) if field in OBJECT_LISTS else ()
        template = make("<platform>", f"<{TEMPLATE_ITEMS[field]}>")
        return [(loc, make(platform, item), api, template) for loc, item in _located(field, values, item_name) if item]

    found: list[Named] = []
    if "dev_environment" in on and spec.dev_environment.kind == "notebook":
        found.append((("name",), names.notebook_name(platform), awsmodel.NOTEBOOK_NAME, "<platform>-notebook"))
    elif "dev_environment" in on:
        found.append((("name",), platform, awsmodel.DOMAIN_NAME, "<platform>"))
    if "pipelines" in on:
        template = "<platform>-continuous-training"
        found.append((("name",), names.pipeline_name(platform), awsmodel.PIPELINE_NAME, template))
    if "container_registry" in on:
        repositories = spec.container_registry.repositories
        found += per_item(
            ("container_registry", "repositories"), repositories, names.repository_name, awsmodel.REPOSITORY_NAME
        )
    if "registry" in on:
        groups = spec.registry.model_package_groups
        found += per_item(
            ("registry", "model_package_groups"),
            groups,
            names.model_package_group_name,
            awsmodel.MODEL_PACKAGE_GROUP_NAME,
        )
    if "feature_store" in on:
        feature_groups = [group.name for group in spec.feature_store.feature_groups]
        found += per_item(
            ("feature_store", "feature_groups"), feature_groups, names.feature_group_name, awsmodel.FEATURE_GROUP_NAME
        )
    if "serving" in on:
        endpoints = spec.serving.effective_endpoints()
        found += per_item(
            ("serving", "endpoints"), [e.name for e in endpoints], names.endpoint_name, awsmodel.ENDPOINT_NAME
        )
        if "monitoring" in on and spec.monitoring.data_quality.enabled:
            # Only endpoints that are deployed and capture data get a monitoring job (the program's rule).
            captured = [e.name if e.model is not None and e.data_capture_percent else None for e in endpoints]
            for api in (awsmodel.MONITORING_JOB_NAME, awsmodel.MONITORING_SCHEDULE_NAME):
                found += per_item(("serving", "endpoints"), captured, _monitoring_name, api)
    if "cicd" in on:
        provider = spec.cicd.provider
        found += per_item(
            ("cicd", "stages"), spec.cicd.stages, partial(_deploy_role_name, provider), awsmodel.ROLE_NAME
        )
    return found


def _monitoring_name(platform: str, endpoint: str) -> str:
    return names.monitoring_name(names.endpoint_name(platform, endpoint))


def _deploy_role_name(provider: str, platform: str, stage: str) -> str:
    return names.deploy_role_name(platform, provider, stage)


def _located(prefix: Loc, values: list[Any], suffix: Loc = ()) -> list[tuple[Loc, Any]]:
    """``(prefix[i] + suffix, value)`` for each value of a list field."""
    return [((*prefix, index, *suffix), value) for index, value in enumerate(values)]


def _value_at(model: BaseModel, loc: Loc) -> Any:
    """The value at ``loc`` inside ``model`` (for a problem's ``value:``)."""
    node: Any = model
    for part in loc:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node
