"""KMS: customer-managed keys and aliases."""

from __future__ import annotations

from typing import Any

from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.handlers.common import (
    auto_name,
    is_not_found,
    prefixed_name,
    retag,
    same_policy,
    tag_list,
)
from mlplatform.engine.embedded.handlers.shapes import request

# Terraform's deletion_window_in_days is ScheduleKeyDeletion's PendingWindowInDays (shapes.py derives the other
# names by case and makes the window, a float in Pulumi, the integer the API wants).
_RENAMES = {"deletionWindowInDays": "PendingWindowInDays"}


class KeyHandler(Handler):
    type = "aws:kms/key:Key"
    service = "kms"
    computed = ("arn", "keyId")
    # customKeyStoreId / xksKeyId (keys in CloudHSM or external key stores) are not implemented: the emulator has
    # no custom key stores, so a program that sets them is refused instead of getting an ordinary key.
    implemented = frozenset(
        {
            "bypassPolicyLockoutSafetyCheck",
            "customerMasterKeySpec",
            "deletionWindowInDays",
            "description",
            "enableKeyRotation",
            "isEnabled",
            "keyUsage",
            "multiRegion",
            "policy",
            "rotationPeriodInDays",
        }
    )

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kms = ctx.aws.client("kms")
        sent = {
            "description": inputs.get("description", ""),
            "keyUsage": inputs.get("keyUsage", "ENCRYPT_DECRYPT"),
            "keySpec": inputs.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT",
            "policy": inputs.get("policy") or None,
            "multiRegion": True if inputs.get("multiRegion") else None,
            "bypassPolicyLockoutSafetyCheck": True if inputs.get("bypassPolicyLockoutSafetyCheck") else None,
        }
        args = request(kms, "CreateKey", sent)
        # The URN tag lets a later run find a key an interrupted run created (keys have no name).
        args["Tags"] = tag_list({**(inputs.get("tags") or {}), ctx.urn_tag: ctx.urn}, key="TagKey", value="TagValue")
        key = kms.create_key(**args)["KeyMetadata"]
        if inputs.get("enableKeyRotation"):
            self._enable_rotation(kms, key["KeyId"], inputs)
        if inputs.get("isEnabled") is False:
            kms.disable_key(KeyId=key["KeyId"])
        return key["KeyId"], {"keyId": key["KeyId"], "arn": key["Arn"], "tagsAll": dict(inputs.get("tags") or {})}

    @staticmethod
    def _enable_rotation(kms: Any, key_id: str, inputs: dict[str, Any]) -> None:
        args: dict[str, Any] = {"KeyId": key_id}
        if inputs.get("rotationPeriodInDays"):
            args["RotationPeriodInDays"] = int(inputs["rotationPeriodInDays"])
        kms.enable_key_rotation(**args)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        kms = ctx.aws.client("kms")
        try:
            meta = kms.describe_key(KeyId=resource_id)["KeyMetadata"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        if meta.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
            return None
        live: dict[str, Any] = {}
        if "description" in inputs:
            live["description"] = meta.get("Description", "")
        if "isEnabled" in inputs:
            live["isEnabled"] = bool(meta.get("Enabled", meta.get("KeyState") == "Enabled"))
        if "enableKeyRotation" in inputs or "rotationPeriodInDays" in inputs:
            rotation = kms.get_key_rotation_status(KeyId=resource_id)
            if "enableKeyRotation" in inputs:
                live["enableKeyRotation"] = bool(rotation.get("KeyRotationEnabled"))
            if "rotationPeriodInDays" in inputs:
                # The emulator does not report the period; AWS does once rotation is on.
                live["rotationPeriodInDays"] = rotation.get("RotationPeriodInDays", inputs["rotationPeriodInDays"])
        if "policy" in inputs:
            policy = kms.get_key_policy(KeyId=resource_id, PolicyName="default")["Policy"]
            live["policy"] = inputs["policy"] if same_policy(policy, inputs["policy"]) else policy
        if "tags" in inputs:
            tags = kms.list_resource_tags(KeyId=resource_id).get("Tags", [])
            live["tags"] = ctx.read_tags(tags, key="TagKey", value="TagValue")
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        kms = ctx.aws.client("kms")
        enabled = news.get("isEnabled") is not False  # Terraform's default is true
        was_enabled = olds.get("isEnabled") is not False
        if enabled and not was_enabled:
            kms.enable_key(KeyId=resource_id)  # before anything else: a disabled key cannot be modified
        rotation = bool(news.get("enableKeyRotation"))
        period_changed = olds.get("rotationPeriodInDays") != news.get("rotationPeriodInDays")
        if bool(olds.get("enableKeyRotation")) != rotation or (rotation and period_changed):
            if rotation:
                self._enable_rotation(kms, resource_id, news)
            else:
                kms.disable_key_rotation(KeyId=resource_id)
        if olds.get("description") != news.get("description"):
            kms.update_key_description(KeyId=resource_id, Description=news.get("description", ""))
        if news.get("policy") and not same_policy(olds.get("policy"), news.get("policy")):
            extra = {"BypassPolicyLockoutSafetyCheck": True} if news.get("bypassPolicyLockoutSafetyCheck") else {}
            kms.put_key_policy(KeyId=resource_id, PolicyName="default", Policy=news["policy"], **extra)
        if was_enabled and not enabled:
            kms.disable_key(KeyId=resource_id)  # last: the other changes need an enabled key
        retag(
            olds.get("tags"),
            news.get("tags"),
            untag=lambda keys: kms.untag_resource(KeyId=resource_id, TagKeys=keys),
            tag=lambda tags: kms.tag_resource(KeyId=resource_id, Tags=tag_list(tags, key="TagKey", value="TagValue")),
        )
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        kms = ctx.aws.client("kms")
        try:
            # KMS cannot delete a key at once: it waits out the deletion window. Untag it first, so a key
            # that is no longer part of the platform stops showing up in tag-based inventories and cost
            # reports (a key pending deletion can no longer be untagged).
            tags = kms.list_resource_tags(KeyId=resource_id).get("Tags", [])
            if tags:
                kms.untag_resource(KeyId=resource_id, TagKeys=[t["TagKey"] for t in tags])
        except Exception as exc:
            if not (is_not_found(exc) or "pending deletion" in str(exc).lower()):
                raise
        try:
            window = {"keyId": resource_id, "deletionWindowInDays": inputs.get("deletionWindowInDays") or 30}
            kms.schedule_key_deletion(**request(kms, "ScheduleKeyDeletion", window, _RENAMES))
        except Exception as exc:
            if not (is_not_found(exc) or "pending deletion" in str(exc).lower()):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        kms = ctx.aws.client("kms")
        for page in kms.get_paginator("list_keys").paginate():
            for key in page.get("Keys", []):
                tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
                if any(t.get("TagKey") == ctx.urn_tag and t.get("TagValue") == ctx.urn for t in tags):
                    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                    if meta.get("KeyState") == "PendingDeletion":
                        continue
                    return key["KeyId"], {"keyId": key["KeyId"], "arn": meta["Arn"]}
        return None


class AliasHandler(Handler):
    type = "aws:kms/alias:Alias"
    service = "kms"
    name_key = "name"
    computed = ("arn", "targetKeyArn", "name")
    implemented = frozenset({"name", "namePrefix", "targetKeyId"})

    def _outputs(self, ctx: StepContext, name: str, target: str) -> dict[str, Any]:
        prefix = f"arn:{ctx.aws.partition}:kms:{ctx.aws.region}:{ctx.aws.account_id}"
        key_arn = target if target.startswith("arn:") else f"{prefix}:key/{target}"
        return {"name": name, "arn": f"{prefix}:{name}", "targetKeyArn": key_arn}

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = alias_name(inputs, ctx.name)
        ctx.aws.client("kms").create_alias(AliasName=name, TargetKeyId=inputs["targetKeyId"])
        return name, self._outputs(ctx, name, inputs["targetKeyId"])

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        for page in ctx.aws.client("kms").get_paginator("list_aliases").paginate():
            for alias in page.get("Aliases", []):
                if alias.get("AliasName") == resource_id:
                    target = alias.get("TargetKeyId")
                    wanted = str(inputs.get("targetKeyId", ""))
                    # Inputs may name the key by id or ARN; report the recorded form when they agree.
                    same = wanted == target or wanted.endswith(f"key/{target}")
                    return {"targetKeyId": wanted if same else target}
        return None

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ctx.aws.client("kms").update_alias(AliasName=resource_id, TargetKeyId=news["targetKeyId"])
        return self._outputs(ctx, resource_id, news["targetKeyId"])

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("kms").delete_alias(AliasName=resource_id)
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = inputs.get("name")
        if not name:
            return None  # a generated name is unknown, and aliases carry no tags to find them by
        if self.read(ctx, name, inputs) is None:
            return None
        return name, self._outputs(ctx, name, inputs["targetKeyId"])


ALIAS_PREFIX = "alias/"


def alias_name(inputs: dict[str, Any], logical: str) -> str:
    """The alias's name as pulumi-aws and Terraform make it: ``name``; else ``namePrefix`` plus Terraform's unique
    suffix; else Pulumi's auto-name, which puts ``alias/`` in front of the logical name unless it starts with it
    (pulumi-aws's AutoNameWithCustomOptions for ``aws_kms_alias``), then ``-`` and 7 random characters."""
    if inputs.get("name"):
        return str(inputs["name"])
    if inputs.get("namePrefix"):
        return prefixed_name(str(inputs["namePrefix"]))
    base = logical if logical.startswith(ALIAS_PREFIX) else ALIAS_PREFIX + logical
    return auto_name(base, max_length=256, lowercase=False)


HANDLERS: tuple[type[Handler], ...] = (KeyHandler, AliasHandler)
