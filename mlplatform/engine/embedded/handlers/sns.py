"""SNS: topics and topic policies.

SNS stores a topic policy re-serialised (the emulator compacts it), so policies compare as documents
(:func:`iam.equivalent_policy`) and reads report the recorded input text when they are equivalent.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.handlers.common import is_not_found, physical_name, retag, tag_list
from mlplatform.engine.embedded.handlers.iam import equivalent_policy, live_policy


def _attributes(ctx: StepContext, arn: str) -> dict[str, str] | None:
    try:
        return dict(ctx.aws.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"])
    except Exception as exc:
        if is_not_found(exc, "NotFound", "NotFoundException"):
            return None
        raise


class TopicHandler(Handler):
    """``aws:sns/topic:Topic``; the id is the topic ARN (as in the Terraform provider)."""

    type = "aws:sns/topic:Topic"
    service = "sns"
    name_key = "name"
    computed = ("arn", "name", "owner")
    # input key -> topic attribute, for the settable string attributes this handler manages. A table, not
    # shapes.py: SNS's model types Attributes as a map of strings, so it does not know the attribute names.
    _ATTRIBUTES: ClassVar[dict[str, str]] = {
        "displayName": "DisplayName",
        "kmsMasterKeyId": "KmsMasterKeyId",
        "policy": "Policy",
    }
    # Everything else (archivePolicy, deliveryPolicy, signatureVersion, tracingConfig, fifoThroughputScope,
    # maximumMessageSize, the delivery-status feedback roles and sample rates) is refused when set.
    implemented = frozenset(
        {"contentBasedDeduplication", "displayName", "fifoTopic", "kmsMasterKeyId", "name", "namePrefix", "policy"}
    )

    def _outputs(self, ctx: StepContext, arn: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": arn,
            "name": arn.rsplit(":", 1)[-1],
            "owner": ctx.aws.account_id,
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs.get("name")
        tags = dict(inputs.get("tags") or {})
        if not name:
            name = physical_name(inputs, ctx.name, max_length=251)
            if inputs.get("fifoTopic"):
                name += ".fifo"
            tags[ctx.urn_tag] = ctx.urn  # an auto-named topic can only be found again by this tag
        attributes = {api: _text(inputs[key]) for key, api in self._ATTRIBUTES.items() if inputs.get(key)}
        if inputs.get("fifoTopic"):
            attributes["FifoTopic"] = "true"
            if inputs.get("contentBasedDeduplication"):
                attributes["ContentBasedDeduplication"] = "true"
        args: dict[str, Any] = {"Name": name, "Attributes": attributes}
        if tags:
            args["Tags"] = tag_list(tags)
        arn = ctx.aws.client("sns").create_topic(**args)["TopicArn"]
        return arn, self._outputs(ctx, arn, inputs)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        attributes = _attributes(ctx, resource_id)
        if attributes is None:
            return None
        live: dict[str, Any] = {"name": resource_id.rsplit(":", 1)[-1]} if "name" in inputs else {}
        for key in ("displayName", "kmsMasterKeyId"):
            value = attributes.get(self._ATTRIBUTES[key]) or ""
            if value:
                live[key] = value
            elif key in inputs:
                live[key] = inputs[key] if not inputs[key] else ""
        # Without a policy input AWS keeps its default policy (or a TopicPolicy resource manages it).
        if inputs.get("policy"):
            live["policy"] = live_policy(attributes.get("Policy"), inputs["policy"])
        if inputs.get("fifoTopic"):
            live["contentBasedDeduplication"] = attributes.get("ContentBasedDeduplication") == "true"
            if "contentBasedDeduplication" not in inputs and not live["contentBasedDeduplication"]:
                del live["contentBasedDeduplication"]
        tags = ctx.read_tags(ctx.aws.client("sns").list_tags_for_resource(ResourceArn=resource_id).get("Tags"))
        if "tags" in inputs or tags:
            live["tags"] = tags
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        sns = ctx.aws.client("sns")
        for key, api in self._ATTRIBUTES.items():
            old, new = olds.get(key) or "", news.get(key) or ""
            if (equivalent_policy(old, new) if key == "policy" else old == new) or (key == "policy" and not new):
                continue  # an omitted policy leaves the live one alone, as the Terraform provider does
            sns.set_topic_attributes(TopicArn=resource_id, AttributeName=api, AttributeValue=_text(new))
        if news.get("fifoTopic") and bool(olds.get("contentBasedDeduplication")) != bool(
            news.get("contentBasedDeduplication")
        ):
            value = "true" if news.get("contentBasedDeduplication") else "false"
            sns.set_topic_attributes(
                TopicArn=resource_id, AttributeName="ContentBasedDeduplication", AttributeValue=value
            )
        retag(
            olds.get("tags"),
            news.get("tags"),
            untag=lambda keys: sns.untag_resource(ResourceArn=resource_id, TagKeys=keys),
            tag=lambda tags: sns.tag_resource(ResourceArn=resource_id, Tags=tag_list(tags)),
        )
        return self._outputs(ctx, resource_id, news)

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("sns").delete_topic(TopicArn=resource_id)  # DeleteTopic is idempotent in AWS
        except Exception as exc:
            if not is_not_found(exc, "NotFound", "NotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        sns = ctx.aws.client("sns")
        if inputs.get("name"):
            arn = f"arn:{ctx.aws.partition}:sns:{ctx.aws.region}:{ctx.aws.account_id}:{inputs['name']}"
            return (arn, self._outputs(ctx, arn, inputs)) if _attributes(ctx, arn) is not None else None
        for page in sns.get_paginator("list_topics").paginate():
            for topic in page.get("Topics", []):
                tags = sns.list_tags_for_resource(ResourceArn=topic["TopicArn"]).get("Tags", [])
                if any(t.get("Key") == ctx.urn_tag and t.get("Value") == ctx.urn for t in tags):
                    return topic["TopicArn"], self._outputs(ctx, topic["TopicArn"], inputs)
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def default_topic_policy(arn: str, owner: str) -> str:
    """The policy SNS gives a new topic; deleting a TopicPolicy restores it (a topic cannot have none)."""
    return json.dumps(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "SNS:GetTopicAttributes",
                        "SNS:SetTopicAttributes",
                        "SNS:AddPermission",
                        "SNS:RemovePermission",
                        "SNS:DeleteTopic",
                        "SNS:Subscribe",
                        "SNS:ListSubscriptionsByTopic",
                        "SNS:Publish",
                    ],
                    "Resource": arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": owner}},
                }
            ],
        }
    )


class TopicPolicyHandler(Handler):
    """``aws:sns/topicPolicy:TopicPolicy``; the id is the topic ARN (as in the Terraform provider)."""

    type = "aws:sns/topicPolicy:TopicPolicy"
    service = "sns"
    computed = ("owner",)
    implemented = frozenset({"arn", "policy"})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        arn = inputs["arn"]
        ctx.aws.client("sns").set_topic_attributes(
            TopicArn=arn, AttributeName="Policy", AttributeValue=_text(inputs["policy"])
        )
        return arn, {"owner": ctx.aws.account_id}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        attributes = _attributes(ctx, resource_id)
        if attributes is None:
            return None
        return {"policy": live_policy(attributes.get("Policy"), inputs.get("policy"))}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        return self.create(ctx, news)[1]

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        # A topic always has a policy: like the Terraform provider, put the default one back.
        policy = default_topic_policy(resource_id, str(outputs.get("owner") or ctx.aws.account_id))
        try:
            ctx.aws.client("sns").set_topic_attributes(
                TopicArn=resource_id, AttributeName="Policy", AttributeValue=policy
            )
        except Exception as exc:
            if not is_not_found(exc, "NotFound", "NotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        # Every topic has a policy (AWS gives it a default one): it exists exactly when the topic does.
        arn = str(inputs["arn"])
        return (arn, {"owner": ctx.aws.account_id}) if self.read(ctx, arn, inputs) is not None else None


HANDLERS: tuple[type[Handler], ...] = (TopicHandler, TopicPolicyHandler)
