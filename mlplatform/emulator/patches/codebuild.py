"""Fixes for moto's CodeBuild gaps.

A test named with no file is in tests/integration/test_emulator_patches.py.

- ``fix_projects``: no ``UpdateProject`` (HTTP 500); a location required where AWS needs none
  (``CODEPIPELINE``/``NO_SOURCE``); ``encryptionKey`` and ``badgeEnabled`` ignored. test_codebuild_on_plain_moto
"""

from __future__ import annotations

import inspect
from typing import Any

from mlplatform.emulator.patches.support import add_operations, first_time, run_after

# CodeBuild source and artifact types for which AWS needs no location (CodePipeline supplies them; a
# NO_SOURCE project has its buildspec inline).
_CODEBUILD_NO_LOCATION = {"source": {"CODEPIPELINE", "NO_SOURCE"}, "artifacts": {"CODEPIPELINE"}}

_CODEBUILD_UPDATABLE = (
    # UpdateProject members stored in moto's project_metadata under the same name.
    "description", "source", "secondarySources", "sourceVersion", "secondarySourceVersions", "artifacts",
    "secondaryArtifacts", "cache", "environment", "timeoutInMinutes", "queuedTimeoutInMinutes",
    "encryptionKey", "tags", "vpcConfig", "logsConfig", "fileSystemLocations", "buildBatchConfig",
    "concurrentBuildLimit", "autoRetryLimit",
)  # fmt: skip


def fix_projects() -> None:
    """CodeBuild projects: ``UpdateProject``, locations AWS does not need, and ``encryptionKey``/``badgeEnabled``.

    Four faults of moto 5.2.5:

    - no ``UpdateProject`` (HTTP 500, ``NotImplementedError``): a project could only be changed by deleting
      and recreating it (which loses its build history on AWS);
    - ``CreateProject`` answers ``InvalidInputException: Project source location is required`` for a
      ``CODEPIPELINE`` or ``NO_SOURCE`` source and a ``CODEPIPELINE`` artifact without ``location``, which AWS
      accepts (CodePipeline ignores a location given there);
    - ``CreateProject`` ignores ``encryptionKey``: every project reports the AWS-managed ``alias/aws/s3``
      key, so a customer-managed key silently disappears (and every refresh shows drift);
    - ``CreateProject`` ignores ``badgeEnabled``: the badge always reads disabled.

    The validation fix relaxes moto's own validators only for the cases above (everything else still goes
    through them); ``UpdateProject`` runs the same validators on the blocks it is given.
    """
    import moto.codebuild.responses as responses
    from moto.codebuild.exceptions import InvalidInputException, ResourceNotFoundException
    from moto.codebuild.models import CodeBuildBackend
    from moto.core.responses import ActionResult
    from moto.core.utils import unix_time

    if first_time(responses, "_mlplatform_locations"):
        for block, validator_name in (
            ("source", "_validate_required_params_source"),
            ("artifacts", "_validate_required_params_artifacts"),
        ):
            original_validator = getattr(responses, validator_name)

            def validate(value: dict[str, Any], _original: Any = original_validator, _block: str = block) -> None:
                if value.get("type") in _CODEBUILD_NO_LOCATION[_block] and not value.get("location"):
                    return
                _original(value)

            setattr(responses, validator_name, validate)

    def badge(project: Any, enabled: bool) -> dict[str, Any]:
        if not enabled:
            return {"badgeEnabled": False}
        # AWS's badge URL shape; nothing serves it on the emulator.
        region = project.arn.split(":")[3]
        return {
            "badgeEnabled": True,
            "badgeRequestUrl": f"https://codebuild.{region}.amazonaws.com/badges?uuid={project.arn.rsplit('/', 1)[-1]}",
        }

    def update_project(self: Any, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        project = self.codebuild_projects.get(name)
        if project is None:
            raise ResourceNotFoundException(f"Failed to call UpdateProject, reason: Project cannot be found: {name}")
        metadata: dict[str, Any] = project.project_metadata
        for key, value in changes.items():
            if key == "badgeEnabled":
                metadata["badge"] = badge(project, bool(value))
            elif key == "serviceRole":
                metadata["serviceRole"] = project.service_role = value
            elif key == "description" and value == "":
                metadata.pop("description", None)  # AWS reads an emptied description back as absent
            else:
                metadata[key] = value
        metadata["lastModifiedDate"] = unix_time()
        return metadata

    def handle_update_project(self: Any) -> ActionResult:
        changes = {key: self._get_param(key) for key in (*_CODEBUILD_UPDATABLE, "serviceRole", "badgeEnabled")}
        changes = {key: value for key, value in changes.items() if value is not None}
        if "source" in changes:
            responses._validate_required_params_source(changes["source"])
        if "artifacts" in changes:
            responses._validate_required_params_artifacts(changes["artifacts"])
        if "environment" in changes:
            responses._validate_required_params_environment(changes["environment"])
        if "serviceRole" in changes:
            responses._validate_required_params_service_role(self.current_account, self.region, changes["serviceRole"])
        for key in ("timeoutInMinutes", "queuedTimeoutInMinutes"):
            if key in changes and not isinstance(changes[key], int):
                raise InvalidInputException(f"Invalid {key}: {changes[key]}")
        project = self.codebuild_backend.update_project(self._get_param("name"), changes)
        return ActionResult({"project": project})

    add_operations(
        CodeBuildBackend, responses.CodeBuildResponse, update_project=(update_project, handle_update_project)
    )

    # encryptionKey and badgeEnabled on create: only while moto's create handler ignores them.
    source = inspect.getsource(responses.CodeBuildResponse.create_project)
    if ("encryptionKey" in source and "badgeEnabled" in source) or not first_time(
        responses.CodeBuildResponse, "_mlplatform_create_settings"
    ):
        return

    def keep_settings(self: Any) -> None:
        project = self.codebuild_backend.codebuild_projects[self._get_param("name")]
        if self._get_param("encryptionKey"):
            project.project_metadata["encryptionKey"] = self._get_param("encryptionKey")
        if self._get_param("badgeEnabled") is not None:
            project.project_metadata["badge"] = badge(project, bool(self._get_param("badgeEnabled")))

    run_after(responses.CodeBuildResponse, "create_project", keep_settings)
