"""Application Auto Scaling: scalable targets and scaling policies (pulumi-aws v7 ``aws.appautoscaling``).

Both APIs are upserts (``RegisterScalableTarget``, ``PutScalingPolicy``), so update repeats the call
with the new values; the identity (namespace, resource, dimension, policy name) forces a replacement.
"""

from __future__ import annotations

from typing import Any

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext, is_set
from mlplatform.engine.embedded.handlers.common import is_not_found, physical_name, retag
from mlplatform.engine.embedded.handlers.shapes import from_api, input_shape, output_shape, request, to_api


def _target_key(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServiceNamespace": inputs["serviceNamespace"],
        "ResourceId": inputs["resourceId"],
        "ScalableDimension": inputs["scalableDimension"],
    }


class TargetHandler(Handler):
    """``aws.appautoscaling.Target``; the id is the resource id (e.g. ``endpoint/<name>/variant/<variant>``),
    as in the Terraform provider."""

    type = "aws:appautoscaling/target:Target"
    service = "application-autoscaling"
    computed = ("arn", "roleArn")
    implemented = frozenset(
        {
            "maxCapacity",
            "minCapacity",
            "resourceId",
            "roleArn",
            "scalableDimension",
            "serviceNamespace",
            "suspendedState",
        }
    )

    def _register(self, ctx: StepContext, inputs: dict[str, Any], *, tags: bool) -> str:
        args: dict[str, Any] = {**_target_key(inputs), **self._capacity(ctx, inputs)}
        suspended = inputs.get("suspendedState")
        if suspended:
            args["SuspendedState"] = {
                "DynamicScalingInSuspended": bool(suspended.get("dynamicScalingInSuspended", False)),
                "DynamicScalingOutSuspended": bool(suspended.get("dynamicScalingOutSuspended", False)),
                "ScheduledScalingSuspended": bool(suspended.get("scheduledScalingSuspended", False)),
            }
        if tags and inputs.get("tags"):
            args["Tags"] = dict(inputs["tags"])
        answer = ctx.aws.client("application-autoscaling").register_scalable_target(**args)
        return str(answer.get("ScalableTargetARN") or "")

    @staticmethod
    def _capacity(ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        """``MinCapacity``, ``MaxCapacity`` (integers) and ``RoleARN`` as the API model names them."""
        wanted = {key: inputs.get(key) for key in ("minCapacity", "maxCapacity", "roleArn") if inputs.get(key) != ""}
        return request(ctx.aws.client("application-autoscaling"), "RegisterScalableTarget", wanted)

    def _describe(self, ctx: StepContext, inputs: dict[str, Any], resource_id: str) -> dict[str, Any] | None:
        answer = ctx.aws.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace=inputs["serviceNamespace"],
            ResourceIds=[resource_id],
            ScalableDimension=inputs["scalableDimension"],
        )
        for target in answer.get("ScalableTargets", []):
            if (
                target.get("ResourceId") == resource_id
                and target.get("ScalableDimension") == inputs["scalableDimension"]
            ):
                return dict(target)
        return None

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        arn = self._register(ctx, inputs, tags=True)
        target = self._describe(ctx, inputs, inputs["resourceId"]) or {}
        return inputs["resourceId"], self._outputs(arn or target.get("ScalableTargetARN"), target, inputs)

    @staticmethod
    def _outputs(arn: str | None, target: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": arn,
            "roleArn": target.get("RoleARN") or inputs.get("roleArn"),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        target = self._describe(ctx, inputs, resource_id)
        if target is None:
            return None
        live: dict[str, Any] = {
            "minCapacity": target.get("MinCapacity"),
            "maxCapacity": target.get("MaxCapacity"),
            "roleArn": target.get("RoleARN"),
        }
        live = {key: value for key, value in live.items() if key in inputs}
        if "tags" in inputs and target.get("ScalableTargetARN"):
            answer = ctx.aws.client("application-autoscaling").list_tags_for_resource(
                ResourceARN=target["ScalableTargetARN"]
            )
            live["tags"] = dict(answer.get("Tags") or {})
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        client = ctx.aws.client("application-autoscaling")
        target = self._describe(ctx, news, resource_id)
        if target is None:
            raise HandlerError(f"scalable target {resource_id} no longer exists")
        wanted = self._capacity(ctx, news)
        if any(target.get(key) != value for key, value in wanted.items()) or news.get("suspendedState") != olds.get(
            "suspendedState"
        ):
            self._register(ctx, news, tags=False)
        arn = target.get("ScalableTargetARN") or outputs.get("arn")
        if (olds.get("tags") or news.get("tags")) and arn:
            current = dict(client.list_tags_for_resource(ResourceARN=arn).get("Tags") or {})
            retag(
                current,
                news.get("tags"),
                untag=lambda keys: client.untag_resource(ResourceARN=arn, TagKeys=keys),
                tag=lambda tags: client.tag_resource(ResourceARN=arn, Tags=tags),
            )
        return {**outputs, **self._outputs(arn, target, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("application-autoscaling").deregister_scalable_target(
                **{**_target_key(inputs), "ResourceId": resource_id}
            )
        except Exception as exc:
            if not is_not_found(exc, "ObjectNotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        target = self._describe(ctx, inputs, inputs["resourceId"])
        if target is None:
            return None
        return inputs["resourceId"], self._outputs(target.get("ScalableTargetARN"), target, inputs)


# ---- scaling policies ------------------------------------------------------------------------------------


def _tracking(client: Any, config: dict[str, Any]) -> dict[str, Any]:
    """``targetTrackingScalingPolicyConfiguration`` (input shape) -> the API's shape, by the model."""
    if config.get("customizedMetricSpecification"):
        raise HandlerError("customizedMetricSpecification is not supported by the embedded engine")
    shape = input_shape(client, "PutScalingPolicy", "TargetTrackingScalingPolicyConfiguration")
    api: dict[str, Any] = to_api(shape, config)
    return api


class PolicyHandler(Handler):
    """``aws.appautoscaling.Policy`` (target tracking); the id is the policy name, as in the Terraform provider."""

    type = "aws:appautoscaling/policy:Policy"
    service = "application-autoscaling"
    name_key = "name"
    computed = ("arn", "alarmArns", "name")
    # Only target tracking is implemented: step and predictive scaling configurations are refused.
    implemented = frozenset(
        {"name", "policyType", "resourceId", "scalableDimension", "serviceNamespace",
         "targetTrackingScalingPolicyConfiguration"}
    )  # fmt: skip

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        found = super().unsupported_inputs(inputs)
        if inputs.get("policyType") not in (None, "", "TargetTrackingScaling"):
            found.append("policyType")
        tracking = inputs.get("targetTrackingScalingPolicyConfiguration")
        if isinstance(tracking, dict) and is_set(tracking.get("customizedMetricSpecification")):
            found.append("targetTrackingScalingPolicyConfiguration.customizedMetricSpecification")
        return sorted(found)

    def _put(self, ctx: StepContext, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        client = ctx.aws.client("application-autoscaling")
        policy_type = inputs.get("policyType") or "StepScaling"
        if policy_type != "TargetTrackingScaling":
            raise HandlerError(
                f"policyType {policy_type} is not supported by the embedded engine (only TargetTrackingScaling)"
            )
        args: dict[str, Any] = {
            **_target_key(inputs),
            "PolicyName": name,
            "PolicyType": policy_type,
            "TargetTrackingScalingPolicyConfiguration": _tracking(
                client, inputs.get("targetTrackingScalingPolicyConfiguration") or {}
            ),
        }
        answer = client.put_scaling_policy(**args)
        return {
            "arn": answer.get("PolicyARN"),
            "alarmArns": [alarm["AlarmARN"] for alarm in answer.get("Alarms", [])],
            "name": name,
        }

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = physical_name(inputs, ctx.name, prefix_key="", max_length=255)
        return name, self._put(ctx, name, inputs)

    def _describe(self, ctx: StepContext, name: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        answer = ctx.aws.client("application-autoscaling").describe_scaling_policies(
            **_target_key(inputs), PolicyNames=[name]
        )
        for policy in answer.get("ScalingPolicies", []):
            if policy.get("PolicyName") == name:
                return dict(policy)
        return None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        policy = self._describe(ctx, resource_id, inputs)
        if policy is None:
            return None
        live: dict[str, Any] = {"policyType": policy.get("PolicyType")}
        if "targetTrackingScalingPolicyConfiguration" in inputs:
            wanted = inputs["targetTrackingScalingPolicyConfiguration"] or {}
            api = dict(policy.get("TargetTrackingScalingPolicyConfiguration") or {})
            shape = output_shape(ctx.aws.client("application-autoscaling"), "DescribeScalingPolicies",
                                 "ScalingPolicies", "TargetTrackingScalingPolicyConfiguration")  # fmt: skip
            # Compare only what the program sets: AWS fills in defaults (e.g. DisableScaleIn false).
            got = from_api(api, wanted, shape)
            live["targetTrackingScalingPolicyConfiguration"] = wanted if got == wanted else got
        return {key: value for key, value in live.items() if key in inputs}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        return {**outputs, **self._put(ctx, resource_id, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("application-autoscaling").delete_scaling_policy(
                **_target_key(inputs), PolicyName=resource_id
            )
        except Exception as exc:
            if not is_not_found(exc, "ObjectNotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if not inputs.get("name"):
            return None
        policy = self._describe(ctx, inputs["name"], inputs)
        if policy is None:
            return None
        return inputs["name"], {
            "arn": policy.get("PolicyARN"),
            "alarmArns": [alarm["AlarmARN"] for alarm in policy.get("Alarms", [])],
            "name": inputs["name"],
        }


HANDLERS: tuple[type[Handler], ...] = (TargetHandler, PolicyHandler)
