"""CodeBuild: build projects (the build and deploy steps of an ML CI/CD pipeline).

The pulumi-aws input shape and CodeBuild's API shape are nearly the same camelCase structures, so
nested blocks pass through (with ``logsConfig.cloudwatchLogs`` renamed ``cloudWatchLogs`` and whole-number
floats, which is how Pulumi carries every number, turned back into integers).

Changes apply in place with ``UpdateProject`` (which keeps the project's build history), sending only the
blocks that changed, each whole; a block dropped from the program is reset to CodeBuild's default, as the
Terraform provider does. Only the name (and region) force a replacement; the name is fixed, so the engine
deletes the old project before it creates the new one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import is_not_found, tag_dict, tag_list

# Inputs sent unchanged (same name and shape in the API).
_PASS_THROUGH = (
    "description",
    "serviceRole",
    "source",
    "artifacts",
    "environment",
    "encryptionKey",
    "cache",
    "sourceVersion",
)
# Inputs whose API name differs.
_RENAMED = {"buildTimeout": "timeoutInMinutes", "queuedTimeout": "queuedTimeoutInMinutes"}
_SUPPORTED = frozenset({*_PASS_THROUGH, *_RENAMED, "name", "logsConfig", "tags", "badgeEnabled"})
# What UpdateProject is sent for a setting the program no longer has: CodeBuild's defaults. encryptionKey and
# sourceVersion are absent: CodeBuild cannot unset them (the Terraform provider marks the key computed), so
# dropping them from the program leaves the live value.
_RESET: dict[str, Any] = {
    "description": "",
    "cache": {"type": "NO_CACHE"},
    "timeoutInMinutes": 60,
    "queuedTimeoutInMinutes": 480,
    "logsConfig": {"cloudWatchLogs": {"status": "ENABLED"}, "s3Logs": {"status": "DISABLED"}},
    "badgeEnabled": False,
    "tags": [],
}


def integers(value: Any) -> Any:
    """Pulumi carries numbers as floats; the API's integer fields refuse ``60.0``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integers(item) for item in value]
    return value


def project(live: Any, wanted: Any) -> Any:
    """``live`` cut down to the shape of ``wanted``: the keys the inputs set, recursively.

    AWS fills in defaults the inputs never mentioned (``insecureSsl: false``, ``type: PLAINTEXT``); those
    are not drift. Items beyond the wanted list are kept whole, so an added item is drift.
    """
    if isinstance(wanted, dict) and isinstance(live, dict):
        return {key: project(live.get(key), value) for key, value in wanted.items()}
    if isinstance(wanted, list) and isinstance(live, list):
        return [project(item, wanted[index]) if index < len(wanted) else item for index, item in enumerate(live)]
    if live is None and wanted in (False, "", 0, [], {}):
        return wanted  # an empty or false input reads back as absent
    return live


def _logs_to_api(logs: dict[str, Any]) -> dict[str, Any]:
    api = dict(logs)
    if "cloudwatchLogs" in api:
        api["cloudWatchLogs"] = api.pop("cloudwatchLogs")
    return api


def _logs_from_api(logs: dict[str, Any]) -> dict[str, Any]:
    shaped = dict(logs)
    if "cloudWatchLogs" in shaped:
        shaped["cloudwatchLogs"] = shaped.pop("cloudWatchLogs")
    return shaped


class ProjectHandler(Handler):
    """A CodeBuild project; the id is its ARN, as the Terraform provider records for a created project."""

    type = "aws:codebuild/project:Project"
    service = "codebuild"
    # The Terraform provider's ForceNew fields; everything else goes through UpdateProject.
    replace_on_change = frozenset({"name", "region"})
    name_key = "name"
    computed: ClassVar[tuple[str, ...]] = ("arn", "badgeUrl")

    def _request(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unsupported = sorted(key for key, value in inputs.items() if key not in _SUPPORTED and value is not None)
        if unsupported:
            raise HandlerError(
                f"the embedded engine's CodeBuild project handler does not support {', '.join(unsupported)}"
            )
        return self._arguments(inputs)

    @staticmethod
    def _arguments(inputs: dict[str, Any]) -> dict[str, Any]:
        """The CreateProject/UpdateProject arguments for ``inputs`` (recorded inputs or live values)."""
        args: dict[str, Any] = {"name": inputs["name"]}
        for key in _PASS_THROUGH:
            if inputs.get(key) is not None:
                args[key] = inputs[key]
        for key, api in _RENAMED.items():
            if inputs.get(key) is not None:
                args[api] = inputs[key]
        if inputs.get("logsConfig"):
            args["logsConfig"] = _logs_to_api(inputs["logsConfig"])
        if inputs.get("badgeEnabled") is not None:
            args["badgeEnabled"] = bool(inputs["badgeEnabled"])
        if inputs.get("tags"):
            args["tags"] = tag_list(inputs["tags"], key="key", value="value")
        return dict(integers(args))

    def _outputs(self, found: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": found["arn"],
            "name": found["name"],
            "badgeUrl": (found.get("badge") or {}).get("badgeRequestUrl", ""),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        created = ctx.aws.client("codebuild").create_project(**self._request(inputs))["project"]
        return created["arn"], self._outputs(created, inputs)

    def _get(self, ctx: StepContext, name_or_arn: str) -> dict[str, Any] | None:
        projects = ctx.aws.client("codebuild").batch_get_projects(names=[name_or_arn]).get("projects") or []
        return dict(projects[0]) if projects else None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        found = self._get(ctx, resource_id)
        if found is None:
            return None
        shaped: dict[str, Any] = {key: found.get(key) for key in _PASS_THROUGH}
        shaped.update({key: found.get(api) for key, api in _RENAMED.items()})
        shaped["logsConfig"] = _logs_from_api(found.get("logsConfig") or {})
        shaped["badgeEnabled"] = bool((found.get("badge") or {}).get("badgeEnabled", False))
        if shaped.get("description") is None:
            shaped["description"] = ""
        live = {key: project(shaped[key], inputs[key]) for key in shaped if key in inputs}
        if "tags" in inputs:  # compared whole: a tag added outside mlplatform is drift
            live["tags"] = tag_dict(found.get("tags"), key="key", value="value")
        if "encryptionKey" in live:
            wanted, got = str(inputs["encryptionKey"]), str(live["encryptionKey"])
            # The API reports the key's ARN; the inputs may name it by id.
            live["encryptionKey"] = wanted if got.endswith(f"key/{wanted}") else got
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        wanted = self._request(news)
        # ``olds`` are the recorded inputs, or the live values after a refresh found drift; both carry the name.
        before = self._arguments({**olds, "name": news["name"]})
        changes = {key: value for key, value in wanted.items() if key != "name" and before.get(key) != value}
        changes.update({key: _RESET[key] for key in before if key not in wanted and key in _RESET})
        if not changes:  # the difference was in a spelling the API does not distinguish
            return {**outputs, "tagsAll": dict(news.get("tags") or {})}
        updated = ctx.aws.client("codebuild").update_project(name=news["name"], **changes)["project"]
        return {**outputs, **self._outputs(updated, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        # DeleteProject takes the name, the id is the ARN (``…:project/<name>``).
        try:
            ctx.aws.client("codebuild").delete_project(name=resource_id.rsplit("project/", 1)[-1])
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        found = self._get(ctx, str(inputs["name"]))
        return (found["arn"], self._outputs(found, inputs)) if found else None


HANDLERS: tuple[type[Handler], ...] = (ProjectHandler,)
