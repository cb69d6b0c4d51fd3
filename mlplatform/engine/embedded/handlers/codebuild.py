"""CodeBuild: build projects (the build and deploy steps of an ML CI/CD pipeline).

The pulumi-aws input shape and CodeBuild's API shape are nearly the same camelCase structures, so
requests and reads are converted by ``shapes.py`` from CodeBuild's API model (which finds that
``logsConfig.cloudwatchLogs`` is ``cloudWatchLogs`` and which numbers are integers); two inputs are
Terraform renames, listed in ``_RENAMES``.

Changes apply in place with ``UpdateProject`` (which keeps the project's build history), sending only the
blocks that changed, each whole; a block dropped from the program is reset to CodeBuild's default, as the
Terraform provider does. Only the name (and region) force a replacement; the name is fixed, so the engine
deletes the old project before it creates the new one. A program without a ``name`` gets Pulumi's auto-name
(pulumi-aws makes the name Terraform requires optional). Inputs outside ``ProjectHandler.implemented`` are
refused before anything is planned.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.handlers.common import is_not_found, physical_name, tag_list
from mlplatform.engine.embedded.handlers.shapes import from_api, output_shape, request

# Inputs sent through the API model (names and nested shapes derived by shapes.py).
_SENT = (
    "description",
    "serviceRole",
    "source",
    "artifacts",
    "environment",
    "encryptionKey",
    "cache",
    "sourceVersion",
    "buildTimeout",
    "queuedTimeout",
    "logsConfig",
)
# Terraform's build_timeout and queued_timeout: not the API's names by case.
_RENAMES = {"buildTimeout": "timeoutInMinutes", "queuedTimeout": "queuedTimeoutInMinutes"}
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


class ProjectHandler(Handler):
    """A CodeBuild project; the id is its ARN, as the Terraform provider records for a created project."""

    type = "aws:codebuild/project:Project"
    service = "codebuild"
    name_key = "name"
    computed: ClassVar[tuple[str, ...]] = ("arn", "name", "badgeUrl")
    implemented = frozenset({*_SENT, "name", "badgeEnabled"})

    @staticmethod
    def _arguments(client: Any, operation: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """The CreateProject/UpdateProject arguments for ``inputs`` (recorded inputs or live values)."""
        sent = {key: inputs[key] for key in _SENT if key in inputs}
        args: dict[str, Any] = {"name": name, **request(client, operation, sent, _RENAMES)}
        if inputs.get("badgeEnabled") is not None:
            args["badgeEnabled"] = bool(inputs["badgeEnabled"])
        if inputs.get("tags"):
            args["tags"] = tag_list(inputs["tags"], key="key", value="value")
        return args

    def _outputs(self, found: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": found["arn"],
            "name": found["name"],
            "badgeUrl": (found.get("badge") or {}).get("badgeRequestUrl", ""),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        codebuild = ctx.aws.client("codebuild")
        # CodeBuild names: 2-255 characters, letters, digits, '-' and '_' (Pulumi's auto-name fits).
        name = physical_name(inputs, ctx.name, key="name", prefix_key="", max_length=255)
        created = codebuild.create_project(**self._arguments(codebuild, "CreateProject", name, inputs))["project"]
        return created["arn"], self._outputs(created, inputs)

    def _get(self, ctx: StepContext, name_or_arn: str) -> dict[str, Any] | None:
        projects = ctx.aws.client("codebuild").batch_get_projects(names=[name_or_arn]).get("projects") or []
        return dict(projects[0]) if projects else None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        found = self._get(ctx, resource_id)
        if found is None:
            return None
        shape = output_shape(ctx.aws.client("codebuild"), "BatchGetProjects", "projects")
        found = {**found, "description": found.get("description") or ""}
        live: dict[str, Any] = from_api(found, {key: inputs[key] for key in _SENT if key in inputs}, shape, _RENAMES)
        if "badgeEnabled" in inputs:
            live["badgeEnabled"] = bool((found.get("badge") or {}).get("badgeEnabled", False))
        if "tags" in inputs:  # compared whole: a tag added outside mlplatform is drift
            live["tags"] = ctx.read_tags(found.get("tags"), key="key", value="value")
        if "encryptionKey" in live:
            wanted, got = str(inputs["encryptionKey"]), str(live["encryptionKey"])
            # The API reports the key's ARN; the inputs may name it by id.
            live["encryptionKey"] = wanted if got.endswith(f"key/{wanted}") else got
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        codebuild = ctx.aws.client("codebuild")
        # The id is the ARN (``…:project/<name>``): an auto-named project's name is in no input.
        name = _name_of(resource_id)
        wanted = self._arguments(codebuild, "UpdateProject", name, news)
        # ``olds`` are the recorded inputs, or the live values after a refresh found drift.
        before = self._arguments(codebuild, "UpdateProject", name, olds)
        changes = {key: value for key, value in wanted.items() if key != "name" and before.get(key) != value}
        changes.update({key: _RESET[key] for key in before if key not in wanted and key in _RESET})
        if not changes:  # the difference was in a spelling the API does not distinguish
            return {**outputs, "tagsAll": dict(news.get("tags") or {})}
        updated = codebuild.update_project(name=name, **changes)["project"]
        return {**outputs, **self._outputs(updated, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        # DeleteProject takes the name, the id is the ARN (``…:project/<name>``).
        try:
            ctx.aws.client("codebuild").delete_project(name=_name_of(resource_id))
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if not inputs.get("name"):
            return None  # an auto-named project cannot be told apart from others (no URN tag lookup here)
        found = self._get(ctx, str(inputs["name"]))
        return (found["arn"], self._outputs(found, inputs)) if found else None


def _name_of(arn: str) -> str:
    """The project name in a project ARN (``arn:aws:codebuild:…:project/<name>``)."""
    return arn.rsplit("project/", 1)[-1]


HANDLERS: tuple[type[Handler], ...] = (ProjectHandler,)
