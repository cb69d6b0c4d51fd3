"""The continuous-training pipeline's definition (SageMaker Pipelines JSON, version 2020-12-01).

Built here rather than with the sagemaker SDK: SDK 3.x is about 1 GB installed and its workflow module
takes seconds to import, which must not sit on every preview. Each step's ``Arguments`` follow the shape of
the API call SageMaker makes for it (CreateProcessingJob, CreateTrainingJob, CreateModelPackage); the unit
tests validate them against botocore's own service model with the ``{"Get": ...}`` placeholders replaced.

process -> train -> evaluate -> condition on a metric -> register (or fail with the metric's value).

The image is the ``ImageUri`` pipeline parameter, not a literal: ECR tags are immutable on the platform, so a new
training image is a new tag, and CI runs it with ``StartPipelineExecution(PipelineParameters=[{"Name":
"ImageUri", "Value": ".../training:1.2.0"}])`` without redeploying; the default (``pipelines.image``) is the
baseline scheduled and new-data runs use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CODE_DIR = "/opt/ml/processing/input/code"
IMAGE = "Parameters.ImageUri"
"""Every image in the definition reads this parameter (processing, training and the registered model)."""


@dataclass(frozen=True)
class PipelineSettings:
    """Everything the definition needs, as plain values (resolved Outputs).

    Attributes:
        bucket: the artifact bucket.
        prefix: key prefix of this pipeline's data, code and outputs in the bucket.
        role_arn: the execution role the jobs run as.
        kms_key_arn: encrypts volumes and outputs.
        image_uri: default of the ``ImageUri`` parameter: the processing, training and registered-model image.
        model_package_group: where approved models are registered.
        approval_status: ``PendingManualApproval`` or ``Approved``.
        metric_name: the evaluation metric the condition reads from ``evaluation.json``.
        threshold: the value the metric is compared with.
        comparison: ``GreaterThanOrEqualTo`` or ``LessThanOrEqualTo``.
        processing_instance_type: default of the processing instance type parameter.
        training_instance_type: default of the training instance type parameter.
        input_prefix: where new training data lands (``incoming/``).
        subnets: private subnets (empty: no VPC).
        security_group_ids: the workload security group.
        spot: managed spot training.
        max_runtime_seconds: stopping condition of each job.
        volume_size_gb: training volume.
        tags: tags of every job the pipeline starts (the pipeline role may only start and watch jobs that
            carry the environment's ``mlplatform:env`` tag).
    """

    bucket: str
    prefix: str
    role_arn: str
    kms_key_arn: str
    image_uri: str
    model_package_group: str
    approval_status: str
    metric_name: str
    threshold: float
    comparison: str
    processing_instance_type: str
    training_instance_type: str
    input_prefix: str
    subnets: list[str]
    security_group_ids: list[str]
    spot: bool
    max_runtime_seconds: int
    volume_size_gb: int
    tags: dict[str, str]


def _tags(settings: PipelineSettings) -> dict[str, list[dict[str, str]]]:
    """The ``Tags`` argument of a job step; none at all without tags, as the SDK writes it."""
    if not settings.tags:
        return {}
    return {"Tags": [{"Key": key, "Value": value} for key, value in sorted(settings.tags.items())]}


def _get(path: str) -> dict[str, str]:
    return {"Get": path}


def _s3(settings: PipelineSettings, *parts: str) -> str:
    return "/".join([f"s3://{settings.bucket}", settings.prefix.strip("/"), *parts])


def _network(settings: PipelineSettings) -> dict[str, Any]:
    network: dict[str, Any] = {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": True}
    if settings.subnets:
        network["VpcConfig"] = {"SecurityGroupIds": settings.security_group_ids, "Subnets": settings.subnets}
    return network


def _processing(
    settings: PipelineSettings, script: str, inputs: list[dict[str, Any]], outputs: list[str]
) -> dict[str, Any]:
    code = {
        "InputName": "code",
        "AppManaged": False,
        "S3Input": {
            "S3Uri": _s3(settings, "code", script),
            "LocalPath": CODE_DIR,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }
    return {
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": _get("Parameters.ProcessingInstanceType"),
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": settings.kms_key_arn,
            }
        },
        "AppSpecification": {
            "ImageUri": _get(IMAGE),
            "ContainerEntrypoint": ["python3", f"{CODE_DIR}/{script}"],
        },
        "RoleArn": settings.role_arn,
        "ProcessingInputs": [*inputs, code],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": name,
                    "AppManaged": False,
                    "S3Output": {
                        "S3Uri": _s3(settings, "runs", name),
                        "LocalPath": f"/opt/ml/processing/{name}",
                        "S3UploadMode": "EndOfJob",
                    },
                }
                for name in outputs
            ],
            "KmsKeyId": settings.kms_key_arn,
        },
        "NetworkConfig": _network(settings),
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        **_tags(settings),
    }


def _s3_input(name: str, uri: Any, local: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _output_uri(step: str, name: str) -> dict[str, str]:
    return _get(f"Steps.{step}.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri")


def build_definition(settings: PipelineSettings) -> dict[str, Any]:
    """The pipeline definition as a dict (``json.dumps`` it for ``pipeline_definition``)."""
    parameters = [
        {"Name": "InputDataUrl", "Type": "String", "DefaultValue": f"s3://{settings.bucket}/{settings.input_prefix}"},
        {"Name": "ProcessingInstanceType", "Type": "String", "DefaultValue": settings.processing_instance_type},
        {"Name": "TrainingInstanceType", "Type": "String", "DefaultValue": settings.training_instance_type},
        {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": settings.approval_status},
        {"Name": "TriggeredBy", "Type": "String", "DefaultValue": "manual"},
        {"Name": "ImageUri", "Type": "String", "DefaultValue": settings.image_uri},
    ]
    preprocess = {
        "Name": "Preprocess",
        "Type": "Processing",
        "Arguments": _processing(
            settings,
            "preprocess.py",
            [_s3_input("input", _get("Parameters.InputDataUrl"), "/opt/ml/processing/input/data")],
            ["train", "validation", "test"],
        ),
    }
    training: dict[str, Any] = {
        "AlgorithmSpecification": {"TrainingImage": _get(IMAGE), "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": _s3(settings, "models"), "KmsKeyId": settings.kms_key_arn},
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "ResourceConfig": {
            "InstanceCount": 1,
            "InstanceType": _get("Parameters.TrainingInstanceType"),
            "VolumeSizeInGB": settings.volume_size_gb,
            "VolumeKmsKeyId": settings.kms_key_arn,
        },
        "RoleArn": settings.role_arn,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": _output_uri("Preprocess", channel),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
            }
            for channel in ("train", "validation")
        ],
        # Encrypt traffic between training containers; no outbound network from the containers.
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": True,
        "EnableManagedSpotTraining": settings.spot,
        **_tags(settings),
    }
    if settings.subnets:
        training["VpcConfig"] = {"SecurityGroupIds": settings.security_group_ids, "Subnets": settings.subnets}
    if settings.spot:
        training["StoppingCondition"]["MaxWaitTimeInSeconds"] = settings.max_runtime_seconds * 2
    train = {"Name": "Train", "Type": "Training", "Arguments": training, "DependsOn": ["Preprocess"]}
    evaluate = {
        "Name": "Evaluate",
        "Type": "Processing",
        "Arguments": _processing(
            settings,
            "evaluate.py",
            [
                _s3_input("model", _get("Steps.Train.ModelArtifacts.S3ModelArtifacts"), "/opt/ml/processing/model"),
                _s3_input("test", _output_uri("Preprocess", "test"), "/opt/ml/processing/test"),
            ],
            ["evaluation"],
        ),
        "PropertyFiles": [
            {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
        ],
    }
    metric = {
        "Std:JsonGet": {
            "PropertyFile": _get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
            "Path": f"metrics.{settings.metric_name}.value",
        }
    }
    register = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": settings.model_package_group,
            "ModelPackageDescription": f"trained by the continuous-training pipeline; {settings.metric_name} gated",
            "InferenceSpecification": {
                "Containers": [
                    {"Image": _get(IMAGE), "ModelDataUrl": _get("Steps.Train.ModelArtifacts.S3ModelArtifacts")}
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelApprovalStatus": _get("Parameters.ModelApprovalStatus"),
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": {
                            "Std:Join": {
                                "On": "/",
                                "Values": [_output_uri("Evaluate", "evaluation"), "evaluation.json"],
                            }
                        },
                    }
                }
            },
        },
    }
    fail = {
        "Name": "MetricBelowThreshold",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {"On": " ", "Values": [f"{settings.metric_name} did not meet the threshold:", metric]}
            }
        },
    }
    condition = {
        "Name": "CheckMetric",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": settings.comparison, "LeftValue": metric, "RightValue": settings.threshold}],
            "IfSteps": [register],
            "ElseSteps": [fail],
        },
    }
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": parameters,
        "PipelineExperimentConfig": {
            "ExperimentName": _get("Execution.PipelineName"),
            "TrialName": _get("Execution.PipelineExecutionId"),
        },
        "Steps": [preprocess, train, evaluate, condition],
    }


def definition_json(settings: PipelineSettings) -> str:
    return json.dumps(build_definition(settings), sort_keys=True)
