"""CodePipeline: pipelines (source -> build -> deploy stages of an ML CI/CD flow).

pulumi-aws flattens each action's ``actionTypeId`` (category, owner, provider, version) into the action,
names artifacts by plain strings and lists artifact stores; the API nests the type id, wraps artifact
names in ``{"name": ...}`` and takes one ``artifactStore`` (or, for cross-region pipelines, an
``artifactStores`` map keyed by region). The handler translates both ways, like the Terraform provider.

A pipeline without a ``name`` gets Pulumi's auto-name (pulumi-aws makes the name Terraform requires
optional). Inputs the handler does not send (``triggers``, ``variables``, a stage's ``beforeEntry`` /
``onSuccess`` / ``onFailure``, an action's ``commands`` / ``outputVariables`` /
``outputArtifactsForComputeActions``) are refused before anything is planned.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, StepContext, is_set
from mlplatform.engine.embedded.handlers.common import is_not_found, physical_name, retag, tag_list
from mlplatform.engine.embedded.handlers.shapes import from_api, request

_TYPE_ID = ("category", "owner", "provider", "version")
_ACTION_KEYS = ("configuration", "runOrder", "roleArn", "namespace", "region", "timeoutInMinutes")
_STAGE_KEYS = frozenset({"name", "actions"})
_ACTION_INPUTS = frozenset({"name", *_TYPE_ID, *_ACTION_KEYS, "inputArtifacts", "outputArtifacts"})


def _store_to_api(store: dict[str, Any]) -> dict[str, Any]:
    api: dict[str, Any] = {"type": store.get("type", "S3"), "location": store["location"]}
    if store.get("encryptionKey"):
        api["encryptionKey"] = dict(store["encryptionKey"])
    return api


def _action_to_api(action: dict[str, Any]) -> dict[str, Any]:
    api: dict[str, Any] = {"name": action["name"], "actionTypeId": {key: action[key] for key in _TYPE_ID}}
    for key in _ACTION_KEYS:
        if action.get(key) is not None:
            api[key] = action[key]
    for key in ("inputArtifacts", "outputArtifacts"):
        if action.get(key):
            api[key] = [{"name": name} for name in action[key]]
    return api


def _action_from_api(action: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"name": action.get("name"), **dict(action.get("actionTypeId") or {})}
    shaped.update({key: action[key] for key in _ACTION_KEYS if key in action})
    for key in ("inputArtifacts", "outputArtifacts"):
        shaped[key] = [item.get("name") for item in action.get(key) or []]
    return shaped


def _without_tags(inputs: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in inputs.items() if key != "tags"}


class PipelineHandler(Handler):
    """A pipeline; the id is its name (as in Terraform). Tags go through Tag/UntagResource on the ARN."""

    type = "aws:codepipeline/pipeline:Pipeline"
    service = "codepipeline"
    name_key = "name"
    computed: ClassVar[tuple[str, ...]] = ("arn", "name")
    implemented = frozenset({"name", "roleArn", "pipelineType", "executionMode", "artifactStores", "stages"})

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        refused = super().unsupported_inputs(inputs)
        for i, stage in enumerate(inputs.get("stages") or []):
            refused += [
                f"stages[{i}].{k}" for k, v in sorted((stage or {}).items()) if k not in _STAGE_KEYS and is_set(v)
            ]
            for j, action in enumerate((stage or {}).get("actions") or []):
                refused += [
                    f"stages[{i}].actions[{j}].{k}"
                    for k, v in sorted((action or {}).items())
                    if k not in _ACTION_INPUTS and is_set(v)
                ]
        return refused

    def _definition(self, client: Any, operation: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        pipeline: dict[str, Any] = {"name": name, "roleArn": inputs["roleArn"]}
        stores = list(inputs.get("artifactStores") or [])
        if len(stores) == 1 and not stores[0].get("region"):
            pipeline["artifactStore"] = _store_to_api(stores[0])
        else:  # cross-region: one store per region, keyed by it
            pipeline["artifactStores"] = {store["region"]: _store_to_api(store) for store in stores}
        pipeline["stages"] = [
            {"name": stage["name"], "actions": [_action_to_api(action) for action in stage.get("actions") or []]}
            for stage in inputs.get("stages") or []
        ]
        for key in ("pipelineType", "executionMode"):
            if inputs.get(key):
                pipeline[key] = inputs[key]
        # Already in the API's names; the model makes its numbers integers where the API wants them.
        converted: dict[str, Any] = request(client, operation, {"pipeline": pipeline})["pipeline"]
        return converted

    def _arn(self, ctx: StepContext, name: str) -> str:
        return str(ctx.aws.client("codepipeline").get_pipeline(name=name)["metadata"]["pipelineArn"])

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        cp = ctx.aws.client("codepipeline")
        # Pipeline names: 1-100 characters of letters, digits, '.', '@', '-' and '_' (Pulumi's auto-name fits).
        name = physical_name(inputs, ctx.name, key="name", prefix_key="", max_length=100)
        args: dict[str, Any] = {"pipeline": self._definition(cp, "CreatePipeline", name, inputs)}
        if inputs.get("tags"):
            args["tags"] = tag_list(inputs["tags"], key="key", value="value")
        cp.create_pipeline(**args)
        return name, {"arn": self._arn(ctx, name), "name": name, "tagsAll": dict(inputs.get("tags") or {})}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        cp = ctx.aws.client("codepipeline")
        try:
            found = cp.get_pipeline(name=resource_id)
        except Exception as exc:
            if is_not_found(exc, "PipelineNotFoundException"):
                return None
            raise
        pipeline = found["pipeline"]
        if pipeline.get("artifactStore"):
            stores = [pipeline["artifactStore"]]
        else:
            stores = [{**store, "region": region} for region, store in (pipeline.get("artifactStores") or {}).items()]
        shaped: dict[str, Any] = {
            "roleArn": pipeline.get("roleArn"),
            "pipelineType": pipeline.get("pipelineType", "V1"),
            "executionMode": pipeline.get("executionMode", "SUPERSEDED"),
            "artifactStores": stores,
            "stages": [
                {"name": stage.get("name"), "actions": [_action_from_api(a) for a in stage.get("actions") or []]}
                for stage in pipeline.get("stages") or []
            ],
        }
        live = {key: from_api(value, inputs[key]) for key, value in shaped.items() if key in inputs}
        if "stages" in live:
            # An action's configuration is compared whole (an added setting is drift), not cut to the inputs.
            for stage, got in zip(live["stages"], shaped["stages"], strict=True):
                for action, raw in zip(stage.get("actions") or [], got["actions"], strict=False):
                    if "configuration" in action:
                        action["configuration"] = raw.get("configuration")
        if "tags" in inputs:
            arn = found["metadata"]["pipelineArn"]
            live["tags"] = ctx.read_tags(
                cp.list_tags_for_resource(resourceArn=arn).get("tags"), key="key", value="value"
            )
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        cp = ctx.aws.client("codepipeline")
        arn = outputs.get("arn") or self._arn(ctx, resource_id)
        # ``olds`` are the recorded inputs: when they equal ``news`` the engine is repairing drift a refresh
        # found, so the definition is written again and the tags are synced against the live ones.
        repair = olds == news
        if repair or _without_tags(olds) != _without_tags(news):
            # The id is the name (an auto-named pipeline's name is in no input).
            cp.update_pipeline(pipeline=self._definition(cp, "UpdatePipeline", resource_id, news))
        if repair:
            old_tags = ctx.read_tags(cp.list_tags_for_resource(resourceArn=arn).get("tags"), key="key", value="value")
        else:
            old_tags = dict(olds.get("tags") or {})
        new_tags = dict(news.get("tags") or {})
        retag(
            old_tags,
            new_tags,
            untag=lambda keys: cp.untag_resource(resourceArn=arn, tagKeys=keys),
            tag=lambda tags: cp.tag_resource(resourceArn=arn, tags=tag_list(tags, key="key", value="value")),
        )
        return {**outputs, "arn": arn, "name": resource_id, "tagsAll": new_tags}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("codepipeline").delete_pipeline(name=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "PipelineNotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if not inputs.get("name"):
            return None  # an auto-named pipeline cannot be told apart from others (no URN tag lookup here)
        name = str(inputs["name"])
        try:
            arn = self._arn(ctx, name)
        except Exception as exc:
            if is_not_found(exc, "PipelineNotFoundException"):
                return None
            raise
        return name, {"arn": arn, "name": name, "tagsAll": dict(inputs.get("tags") or {})}


HANDLERS: tuple[type[Handler], ...] = (PipelineHandler,)
