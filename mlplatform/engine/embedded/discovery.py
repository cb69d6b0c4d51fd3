"""Resources tagged for an environment, found through the Resource Groups Tagging API.

Every resource the application creates carries the tags its :class:`~mlplatform.engine.conventions.Conventions`
name (mlplatform's: ``mlplatform:env=<env>`` and ``managed-by=mlplatform``); an application without such
tags gets neither check. Two uses:

* **Lost state.** ``preview``/``up`` on an environment whose state holds nothing look, before the first
  create, for resources already tagged for it. Finding any means the state was deleted or lost: creating
  the platform again would collide by name (``EntityAlreadyExists``) or duplicate what has no fixed name
  (a second VPC, a second KMS key). It runs only on empty state and costs one ``GetResources`` call when
  nothing is found: about 45 ms against the emulator on a 2-core machine, creating the client included
  (about 25 ms without), next to the ~10 s of a first ``up --blueprint level1``.
* **Import.** After adopting what the program declares, the tagged resources that match nothing in state
  are reported as unmanaged, so the user can delete them by hand.

Coverage: the tagging API does not list every type — IAM roles never (as on AWS), and moto 5.2.5 lists
EC2 (VPCs, subnets, security groups, route tables, flow logs), S3 buckets, KMS keys, log groups, alarms,
SNS topics, Glue databases and SageMaker resources, but not ECR repositories, VPC endpoints, EventBridge
rules or CodeBuild/CodePipeline. Detection needs one hit, and every blueprint creates a KMS key and buckets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mlplatform.engine.conventions import Conventions
from mlplatform.engine.embedded.handlers.base import AwsContext
from mlplatform.engine.embedded.handlers.common import TAGGING_SERVICE, can_list_tags
from mlplatform.engine.embedded.state import ResourceState
from mlplatform.engine.model import TaggedResource
from mlplatform.errors import EXIT_RESOURCE, MlplatformError

SAMPLE = 5
"""How many of the existing resources the lost-state error names."""


class ExistingResourcesError(MlplatformError):
    """An environment with empty state would create resources that already exist, tagged for it.

    Exit 4, the resource-error code: the conflict is with resources in the cloud (before this check the same
    situation ended in exit 4 with ``EntityAlreadyExists`` failures), not with flags or configuration.
    """

    headline = "resources already exist"
    exit_code = EXIT_RESOURCE


def tagged_resources(aws: AwsContext, env: str, conventions: Conventions) -> list[TaggedResource]:
    """The live resources carrying ``env``'s tags (:meth:`Conventions.env_filters`) in the provider's account
    and region.

    KMS keys pending deletion are left out: they are on their way out and cannot be reused.

    Args:
        aws: the provider's clients.
        env: the environment's name.
        conventions: which tags identify the environment's resources and name their component and blueprint.

    Returns:
        the resources, or nothing when the application tags nothing by environment or the provider cannot ask
        the tagging API safely (see :func:`~mlplatform.engine.embedded.handlers.common.can_list_tags`).
    """
    wanted = conventions.env_filters(env)
    if wanted is None or not can_list_tags(aws):
        return []
    client = aws.client(TAGGING_SERVICE)
    filters = [{"Key": key, "Values": [value]} for key, value in wanted.items()]
    found: list[TaggedResource] = []
    args: dict[str, Any] = {"TagFilters": filters, "ResourcesPerPage": 100}
    while True:
        page = client.get_resources(**args)
        for item in page.get("ResourceTagMappingList", []):
            tags = {tag.get("Key"): tag.get("Value") for tag in item.get("Tags", [])}
            found.append(
                TaggedResource(
                    str(item["ResourceARN"]),
                    tags.get(conventions.urn_tag),
                    tags.get(conventions.component_tag) if conventions.component_tag else None,
                    tags.get(conventions.blueprint_tag) if conventions.blueprint_tag else None,
                )
            )
        token = page.get("PaginationToken")
        if not token:
            break
        args["PaginationToken"] = token
    return [resource for resource in found if _alive(aws, resource)]


def _alive(aws: AwsContext, resource: TaggedResource) -> bool:
    if ":kms:" not in resource.arn or ":key/" not in resource.arn:
        return True
    try:
        state = aws.client("kms").describe_key(KeyId=resource.arn)["KeyMetadata"].get("KeyState")
    except Exception:  # noqa: BLE001 - a key that cannot be described is not one to worry about here
        return False
    return state not in ("PendingDeletion", "PendingReplicaDeletion")


def existing_check(env: str, conventions: Conventions) -> Callable[[AwsContext], MlplatformError | None] | None:
    """The check an empty environment runs before its first create (it returns the lost-state error, or
    ``None``); ``None`` when the application tags nothing by environment, so there is nothing to look for."""
    if conventions.env_filters(env) is None:
        return None

    def check(aws: AwsContext) -> MlplatformError | None:
        found = tagged_resources(aws, env, conventions)
        return existing_error(aws, env, found, conventions) if found else None

    return check


def existing_error(
    aws: AwsContext, env: str, found: list[TaggedResource], conventions: Conventions
) -> ExistingResourcesError:
    """The lost-state error: how many resources exist, a few of them, and the two ways out."""
    tag = f"{conventions.env_tag}={env}"
    sample = _sample(found)
    lines = [f"  {resource.label}" for resource in sample]
    if len(found) > len(sample):
        lines.append(f"  ... and {len(found) - len(sample)} more")
    where = f"region {aws.region}"
    accounts = [resource.arn.split(":")[4] for resource in found if resource.arn.count(":") >= 5]
    account = next((account for account in accounts if account), None)  # S3 ARNs carry no account
    if account:
        where += f" of account {account}"
    deployed = deployed_blueprint(found)
    command = f"mlplatform import --env {env}" + (f" --blueprint {deployed}" if deployed else "")
    return ExistingResourcesError(
        f"environment {env!r} has no resources in its state, but {len(found)} resources tagged {tag} "
        f"already exist in {where}"
        + (f", deployed with blueprint {deployed}" if deployed else "")
        + ":\n"
        + "\n".join(lines)
        + "\nIts state was deleted or lost. Creating the platform again would collide with or duplicate them, so "
        "nothing was changed.",
        hint=f"Adopt them into state with `{command}`, then run up to finish. Or delete them by hand (every one "
        f"is tagged {tag}), or deploy under another environment name.",
    )


def deployed_blueprint(found: Iterable[TaggedResource]) -> str | None:
    """The blueprint most of ``found`` were deployed with (their blueprint tag), if any."""
    counts: dict[str, int] = {}
    for resource in found:
        if resource.blueprint:
            counts[resource.blueprint] = counts.get(resource.blueprint, 0) + 1
    return max(counts, key=lambda name: counts[name]) if counts else None


def _sample(found: list[TaggedResource]) -> list[TaggedResource]:
    """A few resources, one per service first, so the message shows what kind of platform is there."""
    picked: list[TaggedResource] = []
    services: set[str] = set()
    for resource in found:
        service = resource.arn.split(":")[2] if resource.arn.count(":") >= 2 else ""
        if service not in services:
            services.add(service)
            picked.append(resource)
    picked += [resource for resource in found if resource not in picked]
    return picked[:SAMPLE]


def unaccounted(tagged: Iterable[TaggedResource], records: Iterable[ResourceState]) -> list[TaggedResource]:
    """The tagged resources that are none of ``records`` (state after an import).

    A resource is recognised by its ARN (the ``arn`` output), its id or its physical name: the ARN is, or
    ends with, ``/<id>`` or ``:<id>`` (``vpc/vpc-1``, ``arn:aws:s3:::bucket``, ``log-group:/a/b``).
    """
    arns: set[str] = set()
    suffixes: set[str] = set()
    for record in records:
        if not record.custom:
            continue
        outputs = record.outputs if isinstance(record.outputs, dict) else {}
        if isinstance(outputs.get("arn"), str):
            arns.add(outputs["arn"])
        for value in (record.id, outputs.get("name"), outputs.get("bucket")):
            if isinstance(value, str) and value:
                arns.add(value)
                suffixes.update(("/" + value, ":" + value))
    return [
        resource
        for resource in tagged
        if resource.arn not in arns and not any(resource.arn.endswith(suffix) for suffix in suffixes)
    ]
