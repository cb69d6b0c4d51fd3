"""``pipelines.image``: the spec setting behind the continuous-training pipeline's ``ImageUri`` parameter.

ECR tags are immutable on the platform, so ``training:latest`` can be pushed once; the image must come from the
spec (and, per execution, from the ``ImageUri`` parameter) rather than from mlplatform's code. These tests go
through the same path as the CLI: ``environments.resolve_loaded`` validates the merged spec (a problem is a
``SpecValidationError``, exit code 2) and the program is evaluated with fake handlers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlplatform import environments
from mlplatform.errors import SpecValidationError
from tests.unit.platform_plans import evaluate, plan_for

# What the fake ECR handler answers as the training repository's URL (see platform_plans.FakeHandler).
TRAINING_URL = "fake-repositoryUrl-container-registry-training"


def _resolve(overrides: dict[str, Any], blueprint: str = "level1") -> environments.ResolvedEnvironment:
    local = environments.BUILTIN_LOCAL
    merged = dict(local.overrides or {})
    merged.update(overrides)
    settings = local.model_copy(update={"overrides": merged})
    return environments.resolve_loaded("local", None, settings, blueprint=blueprint)


def _image_parameter(definition_json: str) -> dict[str, Any]:
    definition = json.loads(definition_json)
    return next(p for p in definition["Parameters"] if p["Name"] == "ImageUri")


def _pipeline_image(plan: Any) -> dict[str, Any]:
    [pipeline] = plan.of_type("aws:sagemaker/pipeline:Pipeline")
    return _image_parameter(pipeline.inputs["pipelineDefinition"])


def test_the_default_is_the_training_repository_latest() -> None:
    assert _resolve({}).spec.pipelines.image == "training:latest"
    assert _pipeline_image(plan_for("level1"))["DefaultValue"] == f"{TRAINING_URL}:latest"


def test_a_new_tag_moves_the_default_without_code_changes() -> None:
    spec = _resolve({"pipelines": {"image": "training:1.2.0"}}).spec
    assert _pipeline_image(evaluate(spec)) == {
        "Name": "ImageUri",
        "Type": "String",
        "DefaultValue": f"{TRAINING_URL}:1.2.0",
    }


def test_another_platform_repository_is_accepted() -> None:
    spec = _resolve(
        {"container_registry": {"repositories": ["training", "serving", "xgb"]}, "pipelines": {"image": "xgb:3"}}
    ).spec
    assert _pipeline_image(evaluate(spec))["DefaultValue"] == "fake-repositoryUrl-container-registry-xgb:3"


def test_a_full_uri_passes_through_unchanged() -> None:
    image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311-ubuntu20.04-sagemaker"
    spec = _resolve({"pipelines": {"image": image}}).spec
    assert spec.pipelines.image == image
    assert _pipeline_image(evaluate(spec))["DefaultValue"] == image


def test_an_unknown_repository_is_refused_at_pipelines_image() -> None:
    with pytest.raises(SpecValidationError) as caught:
        _resolve({"pipelines": {"image": "trainng:1.2.0"}})
    assert caught.value.exit_code == 2
    [problem] = caught.value.problems
    assert problem.path == "pipelines.image"
    assert "'trainng' is not one of container_registry.repositories (training, serving)" in problem.problem


def test_the_rule_follows_the_registry_s_repositories() -> None:
    """Removing the repository the default points to is caught too (the default is not exempt)."""
    with pytest.raises(SpecValidationError) as caught:
        _resolve({"container_registry": {"repositories": ["serving"]}})
    assert [p.path for p in caught.value.problems] == ["pipelines.image"]


def test_without_pipelines_the_image_is_not_checked() -> None:
    spec = _resolve({"container_registry": {"repositories": ["serving"]}}, blueprint="level0").spec
    assert not spec.pipelines.enabled
