"""The continuous-training pipeline definition, checked against botocore's own SageMaker service model.

Moto accepts any pipeline definition, so the emulator proves nothing about it. Each step's ``Arguments``
are the request of the API call SageMaker makes for that step; validating them with botocore's
``ParamValidator`` (after replacing the ``{"Get": ...}``/``Std:`` placeholders by values of the right type)
catches misspelt keys, wrong types and missing required fields.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from mlplatform.components.pipeline_definition import PipelineSettings, build_definition
from tests.unit.pipeline_defaults import spec_defaults

OPERATION = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "RegisterModel": "CreateModelPackage",
}
# Fields SageMaker fills in itself when it runs the step (the job or package name comes from the pipeline).
FILLED_BY_SAGEMAKER = {"CreateProcessingJob": {"ProcessingJobName"}, "CreateTrainingJob": {"TrainingJobName"}}


def _settings(**overrides: Any) -> PipelineSettings:
    values: dict[str, Any] = {
        **spec_defaults(),
        "bucket": "mlp-local-artifacts-123456789012",
        "prefix": "pipelines/mlp-local-continuous-training",
        "role_arn": "arn:aws:iam::123456789012:role/mlp-local-sagemaker-execution",
        "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/abc",
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlp-local/training:latest",
        "model_package_group": "mlp-local-default",
        "subnets": ["subnet-1", "subnet-2"],
        "security_group_ids": ["sg-1"],
    }
    values.update(overrides)
    return PipelineSettings(**values)


def _steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for step in definition["Steps"]:
        steps.append(step)
        if step["Type"] == "Condition":
            steps += step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]
    return steps


# The API types a pipeline parameter of each type may stand in for.
PARAMETER_SHAPES = {"String": {"string"}, "Integer": {"integer", "long"}, "Float": {"float", "double"}}


def _substitute(value: Any, shape: Any, parameters: dict[str, dict[str, Any]]) -> Any:
    """Replace pipeline placeholders with a value of the type the API expects at that place.

    A ``Parameters.<name>`` reference becomes the parameter's default value, which the validator then checks
    like any literal (an image URI is a string, an instance type too), after checking that the parameter's
    declared type is one the API field can take: a String parameter where the API wants an integer would
    fail at execution time with the default and with any value CI passes.
    """
    if isinstance(value, dict) and set(value) == {"Get"} and str(value["Get"]).startswith("Parameters."):
        name = value["Get"].removeprefix("Parameters.")
        assert name in parameters, f"reference to an undeclared parameter {name!r}"
        declared = parameters[name]["Type"]
        assert shape.type_name in PARAMETER_SHAPES.get(declared, set()), (
            f"parameter {name!r} of type {declared} is used where the API expects {shape.type_name} ({shape.name})"
        )
        return parameters[name]["DefaultValue"]
    if isinstance(value, dict) and (set(value) == {"Get"} or any(k.startswith("Std:") for k in value)):
        return {"integer": 1, "boolean": True, "float": 1.0, "double": 1.0, "long": 1}.get(shape.type_name, "s3://b/k")
    if isinstance(value, dict) and shape.type_name == "structure":
        return {k: _substitute(v, shape.members[k], parameters) if k in shape.members else v for k, v in value.items()}
    if isinstance(value, list) and shape.type_name == "list":
        return [_substitute(v, shape.member, parameters) for v in value]
    return value


def _validate(step: dict[str, Any], definition: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    operation = OPERATION[step["Type"]]
    shape = model.operation_model(operation).input_shape
    params = copy.deepcopy(step["Arguments"])
    for name in FILLED_BY_SAGEMAKER.get(operation, ()):
        params[name] = "filled-by-sagemaker"
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    report = ParamValidator().validate(_substitute(params, shape, parameters), shape)
    assert not report.has_errors(), f"{step['Name']} ({operation}):\n{report.generate_report()}"


@pytest.mark.parametrize("spot", [False, True])
def test_every_job_step_is_a_valid_api_request(spot: bool) -> None:
    definition = build_definition(_settings(spot=spot))
    checked = [step["Name"] for step in _steps(definition) if step["Type"] in OPERATION]
    for step in _steps(definition):
        if step["Type"] in OPERATION:
            _validate(step, definition)
    assert checked == ["Preprocess", "Train", "Evaluate", "Register"]


def test_the_validation_catches_a_broken_step() -> None:
    """The check above can fail: a misspelt key and a wrong type are reported."""
    definition = build_definition(_settings())
    train = next(s for s in definition["Steps"] if s["Type"] == "Training")
    train["Arguments"]["ResourceConfig"]["VolumeSizeGB"] = 50
    with pytest.raises(AssertionError, match="VolumeSizeGB"):
        _validate(train, definition)
    definition = build_definition(_settings())
    train = next(s for s in definition["Steps"] if s["Type"] == "Training")
    train["Arguments"]["EnableNetworkIsolation"] = "yes"
    with pytest.raises(AssertionError, match="EnableNetworkIsolation"):
        _validate(train, definition)


@pytest.mark.parametrize("step_name", ["Preprocess", "Train", "Evaluate", "Register"])
def test_the_validation_still_checks_the_image_fields(step_name: str) -> None:
    """The images are parameter references now; the check still sees through them to a string.

    Its default is validated as the image field's value (a non-string default is reported), a parameter of
    another type is refused at the image field, and an image that is neither a string nor a reference is
    reported as before.
    """
    field = {
        "Preprocess": r"AppSpecification\.ImageUri",
        "Evaluate": r"AppSpecification\.ImageUri",
        "Train": r"AlgorithmSpecification\.TrainingImage",
        "Register": r"InferenceSpecification\.Containers\[0\]\.Image",
    }[step_name]

    def default_not_a_string(definition: dict[str, Any]) -> None:
        _parameter(definition, "ImageUri")["DefaultValue"] = 123

    def integer_parameter(definition: dict[str, Any]) -> None:
        _parameter(definition, "ImageUri")["Type"] = "Integer"

    def literal_not_a_string(definition: dict[str, Any]) -> None:
        holder, key = _image_holder(_step(definition, step_name))
        holder[key] = 7

    breakages: list[tuple[Callable[[dict[str, Any]], None], str]] = [
        (default_not_a_string, f"Invalid type for parameter {field}, value: 123"),
        (integer_parameter, "parameter 'ImageUri' of type Integer"),
        (literal_not_a_string, f"Invalid type for parameter {field}, value: 7,"),
    ]
    for broken, expected in breakages:
        definition = build_definition(_settings())
        _validate(_step(definition, step_name), definition)  # intact: valid
        broken(definition)
        with pytest.raises(AssertionError, match=expected):
            _validate(_step(definition, step_name), definition)


def _parameter(definition: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in definition["Parameters"] if p["Name"] == name)


def _step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in _steps(definition) if s["Name"] == name)


def _image_holder(step: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The mapping that holds the step's image, and the key under which it does."""
    args = step["Arguments"]
    if step["Type"] == "Processing":
        return args["AppSpecification"], "ImageUri"
    if step["Type"] == "Training":
        return args["AlgorithmSpecification"], "TrainingImage"
    return args["InferenceSpecification"]["Containers"][0], "Image"


def test_the_image_is_the_image_uri_parameter_everywhere() -> None:
    """CI starts an execution with a new immutable tag (``PipelineParameters=[{"Name": "ImageUri", ...}]``):
    that only works if every image in the definition reads the parameter and none is a literal."""
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlp-local/training:2024-06-01"
    definition = build_definition(_settings(image_uri=image))
    assert _parameter(definition, "ImageUri") == {"Name": "ImageUri", "Type": "String", "DefaultValue": image}
    holders = [_image_holder(step) for step in _steps(definition) if step["Type"] in OPERATION]
    assert len(holders) == 4
    assert all(holder[key] == {"Get": "Parameters.ImageUri"} for holder, key in holders)
    # The literal appears once: as the default. (A step that bypassed the parameter would show up here.)
    assert json.dumps(definition).count(image) == 1


def test_shape_process_train_evaluate_condition_register() -> None:
    definition = build_definition(_settings(threshold=0.9, metric_name="auc"))
    assert definition["Version"] == "2020-12-01"
    assert [s["Name"] for s in definition["Steps"]] == ["Preprocess", "Train", "Evaluate", "CheckMetric"]
    condition = definition["Steps"][3]["Arguments"]
    assert condition["Conditions"][0]["RightValue"] == 0.9
    assert condition["Conditions"][0]["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.auc.value"
    assert [s["Type"] for s in condition["IfSteps"]] == ["RegisterModel"]
    assert [s["Type"] for s in condition["ElseSteps"]] == ["Fail"]
    names = {p["Name"] for p in definition["Parameters"]}
    referenced = {ref.split(".", 1)[1] for ref in _references(definition) if ref.startswith("Parameters.")}
    assert referenced <= names
    steps = {ref.split(".")[1] for ref in _references(definition) if ref.startswith("Steps.")}
    assert steps <= {"Preprocess", "Train", "Evaluate"}
    json.dumps(definition)  # serialisable


def test_jobs_are_encrypted_isolated_and_in_the_vpc() -> None:
    for step in _steps(build_definition(_settings())):
        args = step.get("Arguments", {})
        if step["Type"] == "Training":
            assert args["EnableInterContainerTrafficEncryption"] and args["EnableNetworkIsolation"]
            assert args["VpcConfig"]["Subnets"] == ["subnet-1", "subnet-2"]
            assert args["OutputDataConfig"]["KmsKeyId"] and args["ResourceConfig"]["VolumeKmsKeyId"]
        if step["Type"] == "Processing":
            assert args["NetworkConfig"]["EnableInterContainerTrafficEncryption"]
            assert args["ProcessingOutputConfig"]["KmsKeyId"]


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["Get"]] if isinstance(value.get("Get"), str) else []
        return found + [ref for v in value.values() for ref in _references(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _references(v)]
    return []
