"""ECR: image repositories and their lifecycle policies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.handlers.common import auto_name, is_not_found, retag, tag_list


def _repo_outputs(repo: dict[str, Any], tags: dict[str, str] | None) -> dict[str, Any]:
    return {
        "name": repo["repositoryName"],
        "arn": repo["repositoryArn"],
        "registryId": repo["registryId"],
        "repositoryUrl": repo["repositoryUri"],
        "tagsAll": dict(tags or {}),
    }


class RepositoryHandler(Handler):
    """``aws:ecr/repository:Repository``; the id is the repository name (as in the Terraform provider)."""

    type = "aws:ecr/repository:Repository"
    service = "ecr"
    name_key = "name"
    computed = ("arn", "name", "registryId", "repositoryUrl")
    # Not implemented (refused when set): imageTagMutabilityExclusionFilters.
    implemented = frozenset(
        {"encryptionConfigurations", "forceDelete", "imageScanningConfiguration", "imageTagMutability", "name"}
    )

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs.get("name") or auto_name(ctx.name, max_length=256)
        args: dict[str, Any] = {
            "repositoryName": name,
            "imageTagMutability": inputs.get("imageTagMutability") or "MUTABLE",
            "imageScanningConfiguration": {
                "scanOnPush": bool((inputs.get("imageScanningConfiguration") or {}).get("scanOnPush", False))
            },
        }
        encryption = (inputs.get("encryptionConfigurations") or [None])[0]
        if encryption:
            config = {"encryptionType": encryption.get("encryptionType") or "AES256"}
            if encryption.get("kmsKey"):
                config["kmsKey"] = encryption["kmsKey"]
            args["encryptionConfiguration"] = config
        if inputs.get("tags"):
            args["tags"] = tag_list(inputs["tags"])
        repo = ctx.aws.client("ecr").create_repository(**args)["repository"]
        return name, _repo_outputs(repo, inputs.get("tags"))

    def _describe(self, ctx: StepContext, name: str) -> dict[str, Any] | None:
        try:
            repos = ctx.aws.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]
        except Exception as exc:
            if is_not_found(exc, "RepositoryNotFoundException"):
                return None
            raise
        return dict(repos[0]) if repos else None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        repo = self._describe(ctx, resource_id)
        if repo is None:
            return None
        live: dict[str, Any] = {"imageTagMutability": repo.get("imageTagMutability", "MUTABLE")}
        if "name" in inputs:
            live["name"] = repo["repositoryName"]  # identity keys too, so an adopted repository is not "renamed"
        if "imageTagMutability" not in inputs and live["imageTagMutability"] == "MUTABLE":
            del live["imageTagMutability"]
        scan = bool(repo.get("imageScanningConfiguration", {}).get("scanOnPush", False))
        if "imageScanningConfiguration" in inputs or scan:
            wanted = inputs.get("imageScanningConfiguration") or {}
            live["imageScanningConfiguration"] = {**wanted, "scanOnPush": scan}
        if "encryptionConfigurations" in inputs:
            live["encryptionConfigurations"] = self._encryption(repo, inputs["encryptionConfigurations"])
        tags = ctx.read_tags(
            ctx.aws.client("ecr").list_tags_for_resource(resourceArn=repo["repositoryArn"]).get("tags")
        )
        if "tags" in inputs or tags:
            live["tags"] = tags
        return live

    @staticmethod
    def _encryption(repo: dict[str, Any], wanted: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        config = repo.get("encryptionConfiguration") or {"encryptionType": "AES256"}
        item: dict[str, Any] = {"encryptionType": config.get("encryptionType")}
        want = (wanted or [{}])[0] or {}
        # Without a key AWS picks the account's aws/ecr key (Terraform treats kmsKey as computed then).
        if want.get("kmsKey") or (config.get("kmsKey") and "kmsKey" in want):
            item["kmsKey"] = config.get("kmsKey")
        if item == {k: v for k, v in want.items() if k in ("encryptionType", "kmsKey")}:
            return list(wanted or [])
        return [item]

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ecr = ctx.aws.client("ecr")
        if (olds.get("imageTagMutability") or "MUTABLE") != (news.get("imageTagMutability") or "MUTABLE"):
            ecr.put_image_tag_mutability(
                repositoryName=resource_id, imageTagMutability=news.get("imageTagMutability") or "MUTABLE"
            )
        old_scan = bool((olds.get("imageScanningConfiguration") or {}).get("scanOnPush", False))
        new_scan = bool((news.get("imageScanningConfiguration") or {}).get("scanOnPush", False))
        if old_scan != new_scan:
            ecr.put_image_scanning_configuration(
                repositoryName=resource_id, imageScanningConfiguration={"scanOnPush": new_scan}
            )
        old_tags, new_tags = olds.get("tags") or {}, news.get("tags") or {}
        if old_tags != new_tags:
            arn = outputs.get("arn") or (self._describe(ctx, resource_id) or {}).get("repositoryArn")
            retag(
                old_tags,
                new_tags,
                untag=lambda keys: ecr.untag_resource(resourceArn=arn, tagKeys=keys),
                tag=lambda tags: ecr.tag_resource(resourceArn=arn, tags=tag_list(tags)),
            )
        return {**outputs, "tagsAll": dict(new_tags)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("ecr").delete_repository(repositoryName=resource_id, force=bool(inputs.get("forceDelete")))
        except Exception as exc:
            if not is_not_found(exc, "RepositoryNotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        repo = self._describe(ctx, inputs["name"]) if inputs.get("name") else None
        if repo is None:
            return None
        return repo["repositoryName"], _repo_outputs(repo, inputs.get("tags"))

    def check_delete(
        self,
        ctx: StepContext,
        resource_id: str,
        inputs: dict[str, Any],
        going_first: Sequence[tuple[str, dict[str, Any]]],
    ) -> str | None:
        if inputs.get("forceDelete"):
            return None
        try:
            images = ctx.aws.client("ecr").list_images(repositoryName=resource_id, maxResults=100).get("imageIds", [])
        except Exception as exc:
            if is_not_found(exc, "RepositoryNotFoundException"):
                return None
            raise
        if not images:
            return None
        tags = sorted({image["imageTag"] for image in images if image.get("imageTag")})
        return (
            f"repository {resource_id} still holds {len(images)}{'+' if len(images) >= 100 else ''} image(s)"
            f"{' (tags: ' + ', '.join(tags[:5]) + ')' if tags else ''} and its forceDelete is off (allow_destroy_data:"
            " false), so ECR would refuse to delete it. Two ways out: delete the images yourself (`aws ecr "
            "batch-delete-image`) and run again; or set `allow_destroy_data: true` in the environment's overrides "
            "and run `mlplatform up` with the blueprint that still declares the repository, then run this again"
        )


def _normal_lifecycle(policy: Any) -> Any:
    """Rules in priority order with their tag lists sorted, as Terraform's equivalence check does."""
    try:
        doc = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return policy
    if not isinstance(doc, dict):
        return doc
    rules = []
    for rule in doc.get("rules") or []:
        rule = dict(rule)
        selection = dict(rule.get("selection") or {})
        for key in ("tagPatternList", "tagPrefixList"):
            if key in selection:
                selection[key] = sorted(selection[key]) or None
                if selection[key] is None:
                    del selection[key]
        rule["selection"] = selection
        rules.append(rule)
    return {**doc, "rules": sorted(rules, key=lambda r: r.get("rulePriority", 0))}


class LifecyclePolicyHandler(Handler):
    """``aws:ecr/lifecyclePolicy:LifecyclePolicy``; the id is the repository name."""

    type = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
    service = "ecr"
    # The id is the repository, so a replacement must delete the old policy before putting the new one.
    name_key = "repository"
    computed = ("registryId",)
    implemented = frozenset({"policy", "repository"})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        policy = inputs["policy"]
        result = ctx.aws.client("ecr").put_lifecycle_policy(
            repositoryName=inputs["repository"],
            lifecyclePolicyText=policy if isinstance(policy, str) else json.dumps(policy),
        )
        return result["repositoryName"], {"registryId": result["registryId"], "repository": result["repositoryName"]}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            text = ctx.aws.client("ecr").get_lifecycle_policy(repositoryName=resource_id)["lifecyclePolicyText"]
        except Exception as exc:
            if is_not_found(exc, "LifecyclePolicyNotFoundException", "RepositoryNotFoundException"):
                return None
            raise
        wanted = inputs.get("policy")
        return {"policy": wanted if _normal_lifecycle(text) == _normal_lifecycle(wanted) else text}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        # Every input is replace_on_change; kept for an engine that updates anyway (e.g. ignore_changes edge).
        return self.create(ctx, news)[1]

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("ecr").delete_lifecycle_policy(repositoryName=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "LifecyclePolicyNotFoundException", "RepositoryNotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        try:
            result = ctx.aws.client("ecr").get_lifecycle_policy(repositoryName=inputs["repository"])
        except Exception as exc:
            if is_not_found(exc, "LifecyclePolicyNotFoundException", "RepositoryNotFoundException"):
                return None
            raise
        return result["repositoryName"], {"registryId": result["registryId"], "repository": result["repositoryName"]}


HANDLERS: tuple[type[Handler], ...] = (RepositoryHandler, LifecyclePolicyHandler)
