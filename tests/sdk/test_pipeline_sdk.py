"""mlplatform's continuous-training pipeline definition, compared with the one the sagemaker SDK 3.x builds.

``mlplatform.components.pipeline_definition`` writes the SageMaker Pipelines JSON itself (the SDK is ~1 GB and
takes seconds to import, too heavy for every preview). This test keeps it honest: it builds the *same* pipeline
from the same ``PipelineSettings`` with the SDK's own classes (``ScriptProcessor.run`` -> ``ProcessingStep``,
``ModelTrainer.train`` -> ``TrainingStep``, ``ModelBuilder.register`` -> ``ModelStep``, ``ConditionStep``,
``FailStep``, ``Pipeline.definition()``) and compares the two documents leaf by leaf.

The few places where the SDK legitimately writes something mlplatform does not (an API default spelled out, an
empty placeholder, serving-container environment) are normalised explicitly below, each with its reason and
only for the exact value the SDK writes; anything else that differs fails the test. A second test proves the
comparison can fail: deliberate mismatches in mlplatform's definition are each reported.

The SDK is an optional extra (``pip install -e '.[test,sagemaker]'``); ``scripts/sdk-check`` runs this file in a
virtualenv of its own and sets ``MLPLATFORM_REQUIRE_SAGEMAKER=1`` so that a missing SDK is an error there. In
the main test environment the module is skipped.
"""

# The SDK is absent from the main environment (where this module is skipped) and untyped where it is installed.
# mypy: disable-error-code="import-not-found, import-untyped"

from __future__ import annotations

import copy
import importlib.metadata
import json
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

if os.environ.get("MLPLATFORM_REQUIRE_SAGEMAKER") == "1":
    import sagemaker  # noqa: F401  (scripts/sdk-check: the SDK must be there; a skip would hide a broken setup)
else:
    pytest.importorskip("sagemaker", reason="the sagemaker SDK is an optional extra: scripts/sdk-check runs this")

from mlplatform.components.pipeline_definition import PipelineSettings, build_definition
from tests.unit.pipeline_defaults import spec_defaults

REGION = "us-east-1"
ACCOUNT = "123456789012"
PIPELINE_NAME = "mlp-local-continuous-training"
UNUSED_BASE_JOB_NAME = "sdk-check-base-job-name-not-in-definition"


def _settings(**overrides: Any) -> PipelineSettings:
    values: dict[str, Any] = {
        **spec_defaults(),
        "bucket": f"mlp-local-artifacts-{ACCOUNT}",
        "prefix": f"pipelines/{PIPELINE_NAME}",
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/mlp-local-sagemaker-execution",
        "kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "image_uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlp-local/training:latest",
        "model_package_group": "mlp-local-default",
    }
    values.update(overrides)
    return PipelineSettings(**values)


# Two configurations that together exercise every branch of build_definition: VPC vs none, spot vs on-demand,
# both comparison operators, non-default metric, threshold, instance types, approval status and prefixes.
SETTINGS = {
    # Jobs carry the environment's tags in the program (the pipeline role may only start tagged jobs); the
    # second configuration has none, where both builders leave Tags out.
    "vpc": _settings(
        subnets=["subnet-0aaa", "subnet-0bbb"],
        security_group_ids=["sg-0ccc"],
        tags={"mlplatform:env": "local", "managed-by": "mlplatform"},
    ),
    "spot-no-vpc": _settings(
        spot=True,
        comparison="LessThanOrEqualTo",
        metric_name="rmse",
        threshold=3.5,
        approval_status="Approved",
        processing_instance_type="ml.c5.2xlarge",
        training_instance_type="ml.g5.xlarge",
        input_prefix="landing/csv/",
        max_runtime_seconds=7200,
        volume_size_gb=120,
        image_uri=f"763104351884.dkr.ecr.{REGION}.amazonaws.com/pytorch-training:2.3.0-cpu-py311",
    ),
}


# ---------------------------------------------------------------------------------------------------------------
# The same pipeline, built with the SDK
# ---------------------------------------------------------------------------------------------------------------


def _sdk_definition(settings: PipelineSettings) -> dict[str, Any]:
    """Build the pipeline with sagemaker SDK 3.x classes only, from the settings alone.

    Nothing here is taken from mlplatform's builder except the settings: the code path in the container, the
    entrypoint, the reference syntax and where each key goes are the SDK's decisions.
    """
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        Channel,
        DataSource,
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
        S3DataSource,
        Tag,
    )
    from sagemaker.core.training.configs import Compute, Networking, OutputDataConfig, StoppingCondition
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo, ConditionLessThanOrEqualTo
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import ConditionStep, FailStep, ModelStep, Pipeline, ProcessingStep, TrainingStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer

    session = PipelineSession(default_bucket=settings.bucket)

    def s3(*parts: str) -> str:
        return "/".join([f"s3://{settings.bucket}", settings.prefix.strip("/"), *parts])

    input_data = ParameterString("InputDataUrl", default_value=f"s3://{settings.bucket}/{settings.input_prefix}")
    processing_type = ParameterString("ProcessingInstanceType", default_value=settings.processing_instance_type)
    training_type = ParameterString("TrainingInstanceType", default_value=settings.training_instance_type)
    approval = ParameterString("ModelApprovalStatus", default_value=settings.approval_status)
    triggered_by = ParameterString("TriggeredBy", default_value="manual")
    # The image is a parameter too (CI starts an execution with a new immutable tag); each SDK class below takes
    # it where it takes an image URI.
    image = ParameterString("ImageUri", default_value=settings.image_uri)
    vpc = {"subnets": settings.subnets or None, "security_group_ids": settings.security_group_ids or None}
    tags = [{"Key": key, "Value": value} for key, value in sorted(settings.tags.items())] or None

    def processor() -> Any:
        return ScriptProcessor(
            role=settings.role_arn,
            image_uri=image,
            command=["python3"],
            instance_count=1,
            instance_type=processing_type,
            volume_size_in_gb=30,
            volume_kms_key=settings.kms_key_arn,
            output_kms_key=settings.kms_key_arn,
            max_runtime_in_seconds=settings.max_runtime_seconds,
            sagemaker_session=session,
            network_config=NetworkConfig(enable_network_isolation=True, encrypt_inter_container_traffic=True, **vpc),
            tags=tags,
        )

    def s3_input(name: str, uri: Any, local_path: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=uri,
                local_path=local_path,
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
            ),
        )

    def s3_output(name: str) -> Any:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=s3("runs", name), local_path=f"/opt/ml/processing/{name}", s3_upload_mode="EndOfJob"
            ),
        )

    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=processor().run(
            # Code as an S3 URI: a local path would be uploaded under a timestamped key.
            code=s3("code", "preprocess.py"),
            inputs=[s3_input("input", input_data, "/opt/ml/processing/input/data")],
            outputs=[s3_output(name) for name in ("train", "validation", "test")],
        ),
    )

    def preprocess_output(name: str) -> Any:
        return preprocess.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

    trainer = ModelTrainer(
        sagemaker_session=session,
        role=settings.role_arn,
        training_image=image,
        # ModelTrainer accepts a pipeline variable as training_image (typed StrPipeVar), but without a
        # base_job_name its model_post_init derives one from the image with str.split
        # (sagemaker/train/defaults.py TrainDefaults.get_base_job_name -> train/utils.py
        # _get_repo_name_from_image) and raises AttributeError on a ParameterString (SDK 3.27.0). The base job
        # name only names jobs and upload prefixes outside the definition (a pipeline step's job is named by
        # SageMaker); the fixture asserts that this marker appears nowhere in what is compared.
        base_job_name=UNUSED_BASE_JOB_NAME,
        compute=Compute(
            instance_type=training_type,
            instance_count=1,
            volume_size_in_gb=settings.volume_size_gb,
            volume_kms_key_id=settings.kms_key_arn,
            enable_managed_spot_training=settings.spot,
        ),
        networking=Networking(enable_network_isolation=True, enable_inter_container_traffic_encryption=True, **vpc),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=settings.max_runtime_seconds,
            max_wait_time_in_seconds=settings.max_runtime_seconds * 2 if settings.spot else None,
        ),
        output_data_config=OutputDataConfig(s3_output_path=s3("models"), kms_key_id=settings.kms_key_arn),
        tags=[Tag(key=key, value=value) for key, value in sorted(settings.tags.items())] or None,
    )
    channels = [
        Channel(
            channel_name=name,
            data_source=DataSource(
                s3_data_source=S3DataSource(
                    s3_data_type="S3Prefix",
                    s3_uri=preprocess_output(name),
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            content_type="text/csv",
        )
        for name in ("train", "validation")
    ]
    # mlplatform declares Train's dependency on Preprocess explicitly (the data references imply it too); the
    # SDK writes DependsOn only when asked, so the same pipeline asks for it.
    train = TrainingStep(name="Train", step_args=trainer.train(input_data_config=channels), depends_on=["Preprocess"])
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        name="Evaluate",
        step_args=processor().run(
            code=s3("code", "evaluate.py"),
            inputs=[
                s3_input("model", model_data, "/opt/ml/processing/model"),
                s3_input("test", preprocess_output("test"), "/opt/ml/processing/test"),
            ],
            outputs=[s3_output("evaluation")],
        ),
        property_files=[report],
    )
    metric = JsonGet(step_name=evaluate.name, property_file=report, json_path=f"metrics.{settings.metric_name}.value")

    builder = ModelBuilder(
        s3_model_data_url=model_data,
        image_uri=image,
        role_arn=settings.role_arn,
        sagemaker_session=session,
    )
    evaluation_uri = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    register = ModelStep(
        name="Register",
        step_args=builder.register(
            model_package_group_name=settings.model_package_group,
            content_types=["text/csv"],
            response_types=["text/csv"],
            approval_status=approval,
            description=f"trained by the continuous-training pipeline; {settings.metric_name} gated",
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json", s3_uri=Join(on="/", values=[evaluation_uri, "evaluation.json"])
                )
            ),
        ),
    )
    fail = FailStep(
        name="MetricBelowThreshold",
        error_message=Join(on=" ", values=[f"{settings.metric_name} did not meet the threshold:", metric]),
    )
    comparison = {
        "GreaterThanOrEqualTo": ConditionGreaterThanOrEqualTo,
        "LessThanOrEqualTo": ConditionLessThanOrEqualTo,
    }[settings.comparison]
    check = ConditionStep(
        name="CheckMetric",
        conditions=[comparison(left=metric, right=settings.threshold)],
        if_steps=[register],
        else_steps=[fail],
    )
    pipeline = Pipeline(
        name=PIPELINE_NAME,
        parameters=[input_data, processing_type, training_type, approval, triggered_by, image],
        steps=[preprocess, train, evaluate, check],
        sagemaker_session=session,
    )
    definition: dict[str, Any] = json.loads(pipeline.definition())
    return definition


@pytest.fixture(scope="module")
def sdk_definitions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """Both configurations built with the SDK, offline: moto's in-process mock stands in for S3/STS, and any
    attempt to open a network connection fails the test."""
    version = importlib.metadata.version("sagemaker")
    assert version.split(".")[0] == "3", f"this test is written against sagemaker SDK 3.x, found {version}"
    # An empty SDK config file in place of the admin and user ones, so that no sagemaker config.yaml on the
    # machine injects defaults (VPC, KMS, tags) into what is compared. (TelemetryOptOut in a config would also
    # work, but the SDK re-validates a non-empty config against its JSON schema on every lookup: ~30 s here.)
    config = tmp_path_factory.mktemp("sagemaker-config") / "config.yaml"
    config.write_text("", encoding="utf-8")
    attempts: list[Any] = []

    def no_network(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError(f"test_pipeline_sdk is offline: connection to {address!r} refused")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)  # the SDK resolves a region at import time
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")  # no IAM lookup of the role ARN
        patch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(config))
        patch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
        patch.setattr(socket.socket, "connect", no_network)
        import moto
        from sagemaker.core.telemetry import telemetry_logging

        # The SDK's usage telemetry is an HTTP GET from a background thread; it is not part of what is built.
        # (raising=True: if the SDK renames it, this fails loudly instead of letting the thread go online.)
        patch.setattr(telemetry_logging, "_send_telemetry_request", lambda *args, **kwargs: None, raising=True)
        # The session checks (and creates) its default bucket: inside the mock that stays in memory.
        with moto.mock_aws():
            definitions = {key: _sdk_definition(settings) for key, settings in SETTINGS.items()}
    assert not attempts, f"the SDK tried to reach the network while building the pipeline: {attempts}"
    for key, definition in definitions.items():
        assert UNUSED_BASE_JOB_NAME not in json.dumps(definition), f"{key}: ModelTrainer's base_job_name leaked"
    yield definitions


# ---------------------------------------------------------------------------------------------------------------
# Normalisation: the SDK's own choices, each explicit and only for the exact value the SDK writes
# ---------------------------------------------------------------------------------------------------------------

# What ModelBuilder puts into a registered container's Environment for its framework serving stacks. mlplatform's
# model image is the platform's own container, which reads none of these (the program and submit directory are
# empty because there is no inference script to point to).
SDK_SERVING_ENVIRONMENT = {
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    "SAGEMAKER_PROGRAM": "",
    "SAGEMAKER_REGION": REGION,
    "SAGEMAKER_SUBMIT_DIRECTORY": "",
}
_ABSENT = object()


def _drop_if(mapping: dict[str, Any], key: str, value: Any) -> None:
    """Remove ``key`` only when it holds exactly ``value``; any other value stays and is compared."""
    if mapping.get(key, _ABSENT) == value:
        del mapping[key]


def _all_steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for step in definition["Steps"]:
        steps.append(step)
        if step["Type"] == "Condition":
            steps += _all_steps({"Steps": step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]})
    return steps


def normalise_sdk(definition: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(definition)
    # No MLflow config was given; the SDK writes the key as null, which the service treats as absent.
    _drop_if(result, "MlflowConfig", None)
    for step in _all_steps(result):
        args = step["Arguments"]
        if step["Type"] == "Processing":
            for item in args["ProcessingInputs"]:
                # "None" is the API default of S3CompressionType; the SDK spells it out on every S3 input.
                _drop_if(item["S3Input"], "S3CompressionType", "None")
        elif step["Type"] == "Training":
            # ModelTrainer always sends its (empty) hyperparameter map; no hyperparameters is the same request.
            _drop_if(args, "HyperParameters", {})
            # GZIP is the API default of OutputDataConfig.CompressionType; the SDK spells it out.
            _drop_if(args["OutputDataConfig"], "CompressionType", "GZIP")
        elif step["Type"] == "RegisterModel":
            # "None" is the API default of SkipModelValidation (validate); the SDK spells it out.
            _drop_if(args, "SkipModelValidation", "None")
            # The SDK writes an empty object for every ModelMetrics category it was not given.
            for category in ("Bias", "Explainability"):
                _drop_if(args["ModelMetrics"], category, {})
            for container in args["InferenceSpecification"]["Containers"]:
                _drop_if(container, "Environment", SDK_SERVING_ENVIRONMENT)
    return result


def normalise_mlplatform(definition: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(definition)
    for step in _all_steps(result):
        if step["Type"] == "Processing":
            args = step["Arguments"]
            # AppManaged false is the API default (SageMaker, not the application, moves the data); mlplatform
            # writes it, the SDK leaves it out.
            for item in [*args["ProcessingInputs"], *args["ProcessingOutputConfig"]["Outputs"]]:
                _drop_if(item, "AppManaged", False)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------------------------

# List items with one of these keys are addressed by it (Steps[Train], ProcessingInputs[code]) so that a report
# names what differs; their order is compared separately as "<list>.@order".
NAME_KEYS = ("PropertyFileName", "Name", "InputName", "OutputName", "ChannelName")


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of the document as {path: value}; empty containers are leaves too."""
    if isinstance(value, dict) and value:
        leaves: dict[str, Any] = {}
        for key, item in value.items():
            leaves.update(flatten(item, f"{path}.{key}" if path else key))
        return leaves
    if isinstance(value, list) and value:
        name_key = next((k for k in NAME_KEYS if all(isinstance(i, dict) and k in i for i in value)), None)
        if name_key is None:
            leaves = {}
            for index, item in enumerate(value):
                leaves.update(flatten(item, f"{path}[{index}]"))
            return leaves
        leaves = {f"{path}.@order": [item[name_key] for item in value]}
        for item in value:
            leaves.update(flatten(item, f"{path}[{item[name_key]}]"))
        return leaves
    return {path: value}


def compare(mlplatform: dict[str, Any], sdk: dict[str, Any]) -> None:
    """Fail with a readable report of every leaf that differs between the two normalised definitions."""
    ours, theirs = flatten(normalise_mlplatform(mlplatform)), flatten(normalise_sdk(sdk))
    problems = [f"  only in mlplatform: {path} = {ours[path]!r}" for path in sorted(ours.keys() - theirs.keys())]
    problems += [f"  only in the SDK:    {path} = {theirs[path]!r}" for path in sorted(theirs.keys() - ours.keys())]
    problems += [
        f"  differs: {path}\n    mlplatform: {ours[path]!r}\n    SDK:        {theirs[path]!r}"
        for path in sorted(ours.keys() & theirs.keys())
        if ours[path] != theirs[path] or type(ours[path]) is not type(theirs[path])
    ]
    assert not problems, "mlplatform's pipeline definition differs from the SDK's:\n" + "\n".join(problems)


# The arguments that matter most. Equal-by-absence would prove nothing, so each of these must be present (and,
# by compare(), equal) in both definitions. "{vpc}" paths apply when the settings have subnets.
PRE, TRAIN, EVAL = "Steps[Preprocess].Arguments", "Steps[Train].Arguments", "Steps[Evaluate].Arguments"
COND = "Steps[CheckMetric].Arguments"
REG = f"{COND}.IfSteps[Register].Arguments"
JSON_GET = f"{COND}.Conditions[0].LeftValue.Std:JsonGet"
IMPORTANT = [
    "Version",
    "Steps.@order",
    "Steps[Train].DependsOn[0]",
    *(
        f"Parameters[{p}].{k}"
        for p in (
            "InputDataUrl",
            "ProcessingInstanceType",
            "TrainingInstanceType",
            "ModelApprovalStatus",
            "TriggeredBy",
            "ImageUri",
        )
        for k in ("Type", "DefaultValue")
    ),
    "Parameters.@order",
    *(
        path
        for step in (PRE, EVAL)
        for path in (
            f"{step}.AppSpecification.ImageUri.Get",
            f"{step}.AppSpecification.ContainerEntrypoint[1]",
            f"{step}.ProcessingResources.ClusterConfig.InstanceType.Get",
            f"{step}.ProcessingResources.ClusterConfig.VolumeKmsKeyId",
            f"{step}.ProcessingOutputConfig.KmsKeyId",
            f"{step}.NetworkConfig.EnableNetworkIsolation",
            f"{step}.NetworkConfig.EnableInterContainerTrafficEncryption",
            "{vpc}" + f"{step}.NetworkConfig.VpcConfig.Subnets[1]",
            "{vpc}" + f"{step}.NetworkConfig.VpcConfig.SecurityGroupIds[0]",
            f"{step}.ProcessingInputs[code].S3Input.S3Uri",
            f"{step}.ProcessingInputs[code].S3Input.LocalPath",
            f"{step}.RoleArn",
        )
    ),
    f"{PRE}.ProcessingInputs[input].S3Input.S3Uri.Get",
    *(f"{PRE}.ProcessingOutputConfig.Outputs[{n}].S3Output.S3Uri" for n in ("train", "validation", "test")),
    f"{EVAL}.ProcessingInputs[model].S3Input.S3Uri.Get",
    f"{EVAL}.ProcessingInputs[test].S3Input.S3Uri.Get",
    f"{EVAL}.ProcessingOutputConfig.Outputs[evaluation].S3Output.S3Uri",
    "Steps[Evaluate].PropertyFiles[EvaluationReport].OutputName",
    "Steps[Evaluate].PropertyFiles[EvaluationReport].FilePath",
    f"{TRAIN}.AlgorithmSpecification.TrainingImage.Get",
    f"{TRAIN}.ResourceConfig.InstanceType.Get",
    f"{TRAIN}.ResourceConfig.VolumeKmsKeyId",
    f"{TRAIN}.OutputDataConfig.KmsKeyId",
    f"{TRAIN}.OutputDataConfig.S3OutputPath",
    f"{TRAIN}.EnableNetworkIsolation",
    f"{TRAIN}.EnableInterContainerTrafficEncryption",
    f"{TRAIN}.EnableManagedSpotTraining",
    "{vpc}" + f"{TRAIN}.VpcConfig.Subnets[0]",
    "{vpc}" + f"{TRAIN}.VpcConfig.SecurityGroupIds[0]",
    f"{TRAIN}.InputDataConfig[train].DataSource.S3DataSource.S3Uri.Get",
    f"{TRAIN}.InputDataConfig[validation].DataSource.S3DataSource.S3Uri.Get",
    f"{TRAIN}.RoleArn",
    f"{COND}.Conditions[0].Type",
    f"{JSON_GET}.PropertyFile.Get",
    f"{JSON_GET}.Path",
    f"{COND}.Conditions[0].RightValue",
    f"{COND}.IfSteps.@order",
    f"{COND}.ElseSteps.@order",
    f"{COND}.ElseSteps[MetricBelowThreshold].Type",
    f"{COND}.IfSteps[Register].Type",
    f"{REG}.ModelPackageGroupName",
    f"{REG}.ModelApprovalStatus.Get",
    f"{REG}.InferenceSpecification.Containers[0].Image.Get",
    f"{REG}.InferenceSpecification.Containers[0].ModelDataUrl.Get",
    f"{REG}.ModelMetrics.ModelQuality.Statistics.S3Uri.Std:Join.Values[0].Get",
]


def _important(settings: PipelineSettings) -> list[str]:
    return [p.removeprefix("{vpc}") for p in IMPORTANT if settings.subnets or not p.startswith("{vpc}")]


@pytest.mark.parametrize("key", list(SETTINGS))
def test_mlplatform_definition_matches_the_sdk(key: str, sdk_definitions: dict[str, dict[str, Any]]) -> None:
    settings = SETTINGS[key]
    ours, theirs = build_definition(settings), sdk_definitions[key]
    compare(ours, theirs)
    flat_ours, flat_theirs = flatten(normalise_mlplatform(ours)), flatten(normalise_sdk(theirs))
    missing = [p for p in _important(settings) if p not in flat_ours or p not in flat_theirs]
    assert not missing, f"compared by absence only (not in both definitions): {missing}"
    # A few values pinned outright, so the check above cannot pass by both sides drifting together.
    assert flat_theirs["Steps.@order"] == ["Preprocess", "Train", "Evaluate", "CheckMetric"]
    assert flat_theirs[f"{TRAIN}.ResourceConfig.VolumeKmsKeyId"] == settings.kms_key_arn
    assert flat_theirs[f"{COND}.Conditions[0].Type"] == settings.comparison
    assert flat_theirs[f"{REG}.ModelPackageGroupName"] == settings.model_package_group
    assert flat_theirs["Parameters[ImageUri].DefaultValue"] == settings.image_uri
    for path in (f"{PRE}.AppSpecification.ImageUri", f"{TRAIN}.AlgorithmSpecification.TrainingImage"):
        assert flat_theirs[f"{path}.Get"] == "Parameters.ImageUri"


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(definition: dict[str, Any]) -> None:
        target: Any = definition
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _pop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(definition: dict[str, Any]) -> None:
        target: Any = definition
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def _move_output_kms_key(definition: dict[str, Any]) -> None:
    """A key put where the API does not read it: the output key inside the cluster config."""
    args = definition["Steps"][0]["Arguments"]
    args["ProcessingResources"]["ClusterConfig"]["KmsKeyId"] = args["ProcessingOutputConfig"].pop("KmsKeyId")


def _swap_train_and_preprocess(definition: dict[str, Any]) -> None:
    steps = definition["Steps"]
    steps[0], steps[1] = steps[1], steps[0]


# Steps: 0 Preprocess, 1 Train, 2 Evaluate, 3 CheckMetric (IfSteps: Register, ElseSteps: MetricBelowThreshold).
REGISTER = ["Steps", 3, "Arguments", "IfSteps", 0, "Arguments"]
MISMATCHES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "training volume KMS key": (
        _set(["Steps", 1, "Arguments", "ResourceConfig", "VolumeKmsKeyId"], "alias/other"),
        "ResourceConfig.VolumeKmsKeyId",
    ),
    "training network isolation off": (
        _set(["Steps", 1, "Arguments", "EnableNetworkIsolation"], False),
        "Steps[Train].Arguments.EnableNetworkIsolation",
    ),
    "processing VPC config missing": (
        _pop(["Steps", 2, "Arguments", "NetworkConfig", "VpcConfig"]),
        "Steps[Evaluate].Arguments.NetworkConfig.VpcConfig",
    ),
    "inter-container encryption as a string": (
        _set(["Steps", 0, "Arguments", "NetworkConfig", "EnableInterContainerTrafficEncryption"], "true"),
        "EnableInterContainerTrafficEncryption",
    ),
    "output KMS key in the wrong place": (_move_output_kms_key, "ClusterConfig.KmsKeyId"),
    "instance type not from its parameter": (
        _set(["Steps", 0, "Arguments", "ProcessingResources", "ClusterConfig", "InstanceType"], "ml.m5.xlarge"),
        "ClusterConfig.InstanceType",
    ),
    "image": (_set(["Steps", 1, "Arguments", "AlgorithmSpecification", "TrainingImage"], "other:1"), "TrainingImage"),
    "image default": (_set(["Parameters", 5, "DefaultValue"], "other:1"), "Parameters[ImageUri].DefaultValue"),
    "processing image a literal, not the parameter": (
        _set(["Steps", 2, "Arguments", "AppSpecification", "ImageUri"], SETTINGS["vpc"].image_uri),
        "Steps[Evaluate].Arguments.AppSpecification.ImageUri",
    ),
    "registered image a literal, not the parameter": (
        _set([*REGISTER, "InferenceSpecification", "Containers", 0, "Image"], SETTINGS["vpc"].image_uri),
        "Containers[0].Image",
    ),
    "code location": (
        _set(["Steps", 0, "Arguments", "ProcessingInputs", 1, "S3Input", "S3Uri"], "s3://elsewhere/preprocess.py"),
        "ProcessingInputs[code].S3Input.S3Uri",
    ),
    "parameter default": (_set(["Parameters", 2, "DefaultValue"], "ml.p3.2xlarge"), "TrainingInstanceType"),
    "extra parameter": (
        lambda d: d["Parameters"].append({"Name": "Extra", "Type": "String", "DefaultValue": "x"}),
        "Parameters[Extra]",
    ),
    "step order": (_swap_train_and_preprocess, "Steps.@order"),
    "DependsOn dropped": (_pop(["Steps", 1, "DependsOn"]), "Steps[Train].DependsOn"),
    "condition type": (_set(["Steps", 3, "Arguments", "Conditions", 0, "Type"], "GreaterThan"), "Conditions[0].Type"),
    "condition threshold": (_set(["Steps", 3, "Arguments", "Conditions", 0, "RightValue"], 0.5), "RightValue"),
    "threshold as a string": (_set(["Steps", 3, "Arguments", "Conditions", 0, "RightValue"], "0.8"), "RightValue"),
    "property file wiring": (
        _set(["Steps", 2, "PropertyFiles", 0, "OutputName"], "metrics"),
        "PropertyFiles[EvaluationReport].OutputName",
    ),
    "model package group": (_set([*REGISTER, "ModelPackageGroupName"], "other-group"), "ModelPackageGroupName"),
    "approval status not from its parameter": (
        _set([*REGISTER, "ModelApprovalStatus"], "Approved"),
        "ModelApprovalStatus",
    ),
    "AppManaged true": (_set(["Steps", 0, "Arguments", "ProcessingInputs", 0, "AppManaged"], True), "AppManaged"),
}


@pytest.mark.parametrize("name", list(MISMATCHES))
def test_the_comparison_reports_a_deliberate_mismatch(name: str, sdk_definitions: dict[str, dict[str, Any]]) -> None:
    """The comparison can fail: each mismatch introduced into mlplatform's definition is reported by path."""
    mutate, expected_in_report = MISMATCHES[name]
    ours = build_definition(SETTINGS["vpc"])
    mutate(ours)
    with pytest.raises(AssertionError) as failure:
        compare(ours, sdk_definitions["vpc"])
    assert expected_in_report in str(failure.value)
