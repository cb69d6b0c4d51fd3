"""What AWS itself accepts, read offline from the API models and partition data that botocore ships.

A value can have the right type and still be refused by AWS halfway through a deploy: an instance type
SageMaker does not offer for that API, a region that does not exist, a name one character too long.
botocore carries AWS's own API models (the enums, lengths and patterns of every request member) and the
list of regions of every partition, so ``mlplatform validate`` can check against them without network
or credentials. Each constraint is found by following an operation's input shape along a member path
(``CreateEndpointConfig`` -> ``ProductionVariants[]`` -> ``InstanceType``), never by guessing a shape's
name, so a renamed shape in a newer botocore is followed, not missed.

Reading the SageMaker model means decompressing and parsing 2.6 MB of JSON (about 60 ms, a quarter of
a whole ``mlplatform validate``), and validation is on every command's path. So the few constraints the
spec needs are extracted once per botocore installation and kept in a small JSON file in the user's
cache directory (``$XDG_CACHE_HOME/mlplatform``, else ``~/.cache/mlplatform``), keyed by the size and
modification time of the model files; in a process they are loaded at most once, and only when a
check needs them. A cache that cannot be written is not an error: the constraints are then read from
botocore's files each time.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mlplatform.fileio import atomic_write


@dataclass(frozen=True)
class ApiMember:
    """A request member of an AWS API, as a path from an operation's input shape.

    Attributes:
        service: botocore's name of the service (``sagemaker``).
        operation: the operation (``CreateEndpointConfig``).
        member: member names from the input shape; lists on the way are stepped into
            (``("ProductionVariants", "InstanceType")``).
    """

    service: str
    operation: str
    member: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation}:{'.'.join(self.member)}"


@dataclass(frozen=True)
class Constraint:
    """What botocore's model says about one request member.

    Attributes:
        api: the member.
        where: the member path as AWS documents it, lists marked ``[]`` (``ProductionVariants[].InstanceType``).
        shape: the name of the member's shape in the model (``ProductionVariantInstanceType``).
        enum: the accepted values, when the shape is an enum (empty otherwise).
        min, max: length limits (of a string or a list), when the model has them.
        pattern: the regular expression a string must match entirely, when the model has one.
    """

    api: ApiMember
    where: str
    shape: str
    enum: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    pattern: str | None = None

    def describe(self) -> str:
        """``SageMaker CreateEndpointConfig (ProductionVariants[].InstanceType)``."""
        return f"{SERVICE_TITLES.get(self.api.service, self.api.service)} {self.api.operation} ({self.where})"


SERVICE_TITLES = {"sagemaker": "SageMaker", "ecr": "ECR", "budgets": "AWS Budgets", "iam": "IAM"}

# Instance types, per API: the same `ml.g5.xlarge` can be valid for one API and refused by another.
TRAINING_INSTANCE = ApiMember("sagemaker", "CreateTrainingJob", ("ResourceConfig", "InstanceType"))
PROCESSING_INSTANCE = ApiMember(
    "sagemaker", "CreateProcessingJob", ("ProcessingResources", "ClusterConfig", "InstanceType")
)
ENDPOINT_INSTANCE = ApiMember("sagemaker", "CreateEndpointConfig", ("ProductionVariants", "InstanceType"))
NOTEBOOK_INSTANCE = ApiMember("sagemaker", "CreateNotebookInstance", ("InstanceType",))
STUDIO_APP_INSTANCE = ApiMember(
    "sagemaker",
    "CreateDomain",
    ("DefaultUserSettings", "JupyterLabAppSettings", "DefaultResourceSpec", "InstanceType"),
)
MONITORING_INSTANCE = ApiMember(
    "sagemaker", "CreateDataQualityJobDefinition", ("JobResources", "ClusterConfig", "InstanceType")
)

# Physical names the platform derives from the user's names.
ENDPOINT_NAME = ApiMember("sagemaker", "CreateEndpoint", ("EndpointName",))
FEATURE_GROUP_NAME = ApiMember("sagemaker", "CreateFeatureGroup", ("FeatureGroupName",))
FEATURE_DEFINITIONS = ApiMember("sagemaker", "CreateFeatureGroup", ("FeatureDefinitions",))
MODEL_PACKAGE_GROUP_NAME = ApiMember("sagemaker", "CreateModelPackageGroup", ("ModelPackageGroupName",))
MONITORING_SCHEDULE_NAME = ApiMember("sagemaker", "CreateMonitoringSchedule", ("MonitoringScheduleName",))
MONITORING_JOB_NAME = ApiMember("sagemaker", "CreateDataQualityJobDefinition", ("JobDefinitionName",))
NOTEBOOK_NAME = ApiMember("sagemaker", "CreateNotebookInstance", ("NotebookInstanceName",))
DOMAIN_NAME = ApiMember("sagemaker", "CreateDomain", ("DomainName",))
PIPELINE_NAME = ApiMember("sagemaker", "CreatePipeline", ("PipelineName",))
REPOSITORY_NAME = ApiMember("ecr", "CreateRepository", ("repositoryName",))
ROLE_NAME = ApiMember("iam", "CreateRole", ("RoleName",))
MODEL_IMAGE = ApiMember("sagemaker", "CreateModel", ("PrimaryContainer", "Image"))
MODEL_DATA_URL = ApiMember("sagemaker", "CreateModel", ("PrimaryContainer", "ModelDataUrl"))
BUDGET_SUBSCRIBERS = ApiMember("budgets", "CreateBudget", ("NotificationsWithSubscribers", "Subscribers"))

# Tags: SageMaker's tag shapes (the same limits as IAM's, EC2's and most services').
TAGS = ApiMember("sagemaker", "CreateEndpointConfig", ("Tags",))
TAG_KEY = ApiMember("sagemaker", "CreateEndpointConfig", ("Tags", "Key"))
TAG_VALUE = ApiMember("sagemaker", "CreateEndpointConfig", ("Tags", "Value"))

MEMBERS: tuple[ApiMember, ...] = (
    TRAINING_INSTANCE,
    PROCESSING_INSTANCE,
    ENDPOINT_INSTANCE,
    NOTEBOOK_INSTANCE,
    STUDIO_APP_INSTANCE,
    MONITORING_INSTANCE,
    ENDPOINT_NAME,
    FEATURE_GROUP_NAME,
    FEATURE_DEFINITIONS,
    MODEL_PACKAGE_GROUP_NAME,
    MONITORING_SCHEDULE_NAME,
    MONITORING_JOB_NAME,
    NOTEBOOK_NAME,
    DOMAIN_NAME,
    PIPELINE_NAME,
    REPOSITORY_NAME,
    ROLE_NAME,
    MODEL_IMAGE,
    MODEL_DATA_URL,
    BUDGET_SUBSCRIBERS,
    TAGS,
    TAG_KEY,
    TAG_VALUE,
)
"""Every member the spec checks; all are extracted (and cached) together."""

_CACHE_FORMAT = 1


def constraint(api: ApiMember) -> Constraint:
    """What botocore's model says about ``api`` (loaded on first use, then cached).

    Raises:
        KeyError: ``api`` is not in :data:`MEMBERS` or not in the installed botocore's model (a bug).
    """
    return _constraints()[api.key]


@cache
def _constraints() -> dict[str, Constraint]:
    services = sorted({api.service for api in MEMBERS})
    files = {service: _model_file(service) for service in services}
    fingerprint = _fingerprint(files)
    path = _cache_path()
    cached = _read_cache(path, fingerprint)
    if cached is not None:
        return cached
    models = {service: _load_json(file) for service, file in files.items()}
    found = {api.key: _follow(models[api.service], api) for api in MEMBERS}
    _write_cache(path, fingerprint, found)
    return found


def botocore_version() -> str:
    """The installed botocore's version (read from its package metadata, without importing it)."""
    from importlib.metadata import version

    return version("botocore")


def _data_dir() -> Path:
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore is not installed; mlplatform needs it (it comes with boto3)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _model_file(service: str) -> Path:
    """The newest API version's ``service-2.json(.gz)`` of ``service``, as botocore's loader picks it."""
    folder = _data_dir() / service
    for version in sorted((p for p in folder.iterdir() if p.is_dir()), reverse=True):
        for name in ("service-2.json.gz", "service-2.json"):
            if (version / name).is_file():
                return version / name
    raise RuntimeError(f"botocore ships no API model for {service} under {folder}")


def _load_json(path: Path) -> Any:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)


def _follow(model: dict[str, Any], api: ApiMember) -> Constraint:
    """Follow ``api``'s member path from its operation's input shape to the member's shape."""
    shapes = model["shapes"]
    name = model["operations"][api.operation]["input"]["shape"]
    where: list[str] = []
    for part in api.member:
        while shapes[name]["type"] == "list":
            name = shapes[name]["member"]["shape"]
            where[-1] += "[]"
        name = shapes[name]["members"][part]["shape"]
        where.append(part)
    shape = shapes[name]
    return Constraint(
        api=api,
        where=".".join(where),
        shape=name,
        enum=tuple(shape.get("enum", ())),
        min=shape.get("min"),
        max=shape.get("max"),
        pattern=shape.get("pattern"),
    )


def _fingerprint(files: dict[str, Path]) -> str:
    parts = [f"format={_CACHE_FORMAT}", *(api.key for api in MEMBERS)]
    for service, file in sorted(files.items()):
        info = file.stat()
        parts.append(f"{service}={file}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cache_path() -> Path | None:
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:  # no home directory to speak of: no cache
        return None
    return Path(base) / "mlplatform" / "aws-constraints.json"


def _read_cache(path: Path | None, fingerprint: str) -> dict[str, Constraint] | None:
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("fingerprint") != fingerprint:
            return None
        by_key = {api.key: api for api in MEMBERS}
        return {
            key: Constraint(
                api=by_key[key],
                where=str(item["where"]),
                shape=str(item["shape"]),
                enum=tuple(str(value) for value in item["enum"]),
                min=item["min"],
                max=item["max"],
                pattern=item["pattern"],
            )
            for key, item in document["constraints"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, stale or damaged: extract again


def _write_cache(path: Path | None, fingerprint: str, found: dict[str, Constraint]) -> None:
    if path is None:
        return
    document = {
        "fingerprint": fingerprint,
        "constraints": {
            key: {
                "where": c.where,
                "shape": c.shape,
                "enum": list(c.enum),
                "min": c.min,
                "max": c.max,
                "pattern": c.pattern,
            }
            for key, c in found.items()
        },
    }
    # Concurrent runs each write a whole file; the last one wins. A cache, so no fsync. A read-only home
    # directory only costs the next run the extraction again.
    with contextlib.suppress(OSError):
        atomic_write(path, json.dumps(document), durable=False)


# ---------------------------------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """One AWS partition (``aws``, ``aws-cn``, ``aws-us-gov``, ...) and its regions."""

    name: str
    regions: tuple[str, ...]
    dns_suffix: str = "amazonaws.com"


@cache
def partitions() -> tuple[Partition, ...]:
    """Every partition botocore knows, with its regions (``partitions.json``; a few KB, read once).

    Pseudo-regions such as ``aws-global`` are left out: they name global endpoints, not places a
    platform can be deployed to.
    """
    import re

    document = _load_json(_data_dir() / "partitions.json")
    found = []
    for item in document["partitions"]:
        regex = re.compile(item.get("regionRegex") or ".*")
        regions = tuple(sorted(region for region in item.get("regions", {}) if regex.fullmatch(region)))
        found.append(Partition(item["id"], regions, item.get("outputs", {}).get("dnsSuffix") or "amazonaws.com"))
    return tuple(found)


def partition_of(region: str) -> str | None:
    """The partition ``region`` belongs to, or ``None`` when botocore knows no such region."""
    for partition in partitions():
        if region in partition.regions:
            return partition.name
    return None


def dns_suffix_of(region: str) -> str | None:
    """The domain of ``region``'s partition (``amazonaws.com``, ``amazonaws.com.cn``, ...); ``None`` if unknown."""
    for partition in partitions():
        if region in partition.regions:
            return partition.dns_suffix
    return None


def all_regions() -> list[str]:
    """Every known region of every partition, sorted."""
    return sorted(region for partition in partitions() for region in partition.regions)
