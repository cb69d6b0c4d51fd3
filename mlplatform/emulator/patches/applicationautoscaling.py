"""Fixes for moto's Application Auto Scaling gaps.

A test named with no file is in tests/integration/test_emulator_patches.py.

- ``add_tags``: no ``ListTagsForResource``/``TagResource``/``UntagResource`` (HTTP 500), and
  ``RegisterScalableTarget`` drops ``Tags``. test_scaling_tags_on_plain_moto
"""

from __future__ import annotations

import inspect
from typing import Any

from mlplatform.emulator.patches.support import add_operations, first_time


def add_tags() -> None:
    """Application Auto Scaling ``ListTagsForResource``/``TagResource``/``UntagResource`` and
    ``RegisterScalableTarget``'s ``Tags`` (moto 5.2.5: HTTP 500, and the tags are dropped).

    The scalable target's ARN (``ScalableTargetARN``, ``arn:aws:application-autoscaling:<region>:<account>:
    scalable-target/<id>``) is the resource the tag operations name; an unknown ARN is AWS's
    ``ResourceNotFoundException``. As on AWS, ``RegisterScalableTarget`` applies ``Tags`` when it creates the
    target; an existing target is tagged with ``TagResource``. Tags live on moto's target object, so
    deregistering the target drops them.
    """
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult, EmptyResult

    class ResourceNotFoundException(JsonRESTError):
        code = 400

        def __init__(self, arn: str) -> None:
            super().__init__("ResourceNotFoundException", f"No scalable target found for ARN: {arn}")

    def target_by_arn(backend: Any, arn: str) -> Any:
        for by_resource in backend.targets.values():
            for target in by_resource.values():
                if target.arn == arn:
                    return target
        raise ResourceNotFoundException(arn)

    def list_tags_for_resource(self: Any, arn: str) -> dict[str, str]:
        return dict(getattr(target_by_arn(self, arn), "tags", {}))

    def tag_resource(self: Any, arn: str, tags: dict[str, str]) -> None:
        target = target_by_arn(self, arn)
        target.tags = {**getattr(target, "tags", {}), **tags}

    def untag_resource(self: Any, arn: str, keys: list[str]) -> None:
        target = target_by_arn(self, arn)
        target.tags = {key: value for key, value in getattr(target, "tags", {}).items() if key not in keys}

    def handle_list_tags(self: Any) -> ActionResult:
        tags = self.applicationautoscaling_backend.list_tags_for_resource(self._get_param("ResourceARN"))
        return ActionResult({"Tags": tags})

    def handle_tag(self: Any) -> EmptyResult:
        self.applicationautoscaling_backend.tag_resource(self._get_param("ResourceARN"), self._get_param("Tags") or {})
        return EmptyResult()

    def handle_untag(self: Any) -> EmptyResult:
        self.applicationautoscaling_backend.untag_resource(
            self._get_param("ResourceARN"), self._get_param("TagKeys") or []
        )
        return EmptyResult()

    add_operations(
        ApplicationAutoscalingBackend,
        ApplicationAutoScalingResponse,
        list_tags_for_resource=(list_tags_for_resource, handle_list_tags),
        tag_resource=(tag_resource, handle_tag),
        untag_resource=(untag_resource, handle_untag),
    )

    # RegisterScalableTarget's Tags: only while moto's own handler ignores them.
    if "Tags" in inspect.getsource(ApplicationAutoScalingResponse.register_scalable_target) or not first_time(
        ApplicationAutoScalingResponse, "_mlplatform_register_tags"
    ):
        return
    original_register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self: Any) -> Any:
        backend = self.applicationautoscaling_backend
        dimension, resource_id = self._get_param("ScalableDimension"), self._get_param("ResourceId")
        existed = resource_id in backend.targets.get(dimension, {})
        result = original_register(self)
        tags = self._get_param("Tags")
        if tags and not existed:
            backend.targets[dimension][resource_id].tags = dict(tags)
        return result

    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target  # type: ignore[method-assign]
