"""Names: the ones users choose (environments, blueprints) and every physical name derived from them.

An environment name becomes a file name (``stacks/<env>.yaml``), a state directory and part of AWS
resource names, so it is checked before any file is touched: a name like ``../prod`` or ``a/b`` must
never reach the file system. A physical name that more than one module builds (an endpoint's, its
variant's, its log group's, ...) is derived here once, so the components, the program and the spec's
length checks cannot drift apart.
"""

from __future__ import annotations

import hashlib
import re

from mlplatform.errors import InvalidEnvNameError
from mlplatform.spec import formats

ENV_NAME_RE = re.compile(formats.ENV_NAME)
BLUEPRINT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_PLATFORM_NAME_MAX = 32


def check_env_name(name: str) -> str:
    """Return ``name`` if it is a valid environment name.

    Raises:
        InvalidEnvNameError: not a lowercase DNS label (letters, digits, hyphens; no leading or trailing
            hyphen) of 1-40 characters.
    """
    # fullmatch, not match: `$` also matches before a trailing newline, and 'dev\n' is not a name.
    if not ENV_NAME_RE.fullmatch(name):
        reasons = []
        if len(name) > 40:
            reasons.append(f"it is {len(name)} characters long (at most 40)")
        bad = sorted({ch for ch in name if not ((ch.islower() and ch.isascii()) or ch.isdigit() or ch == "-")})
        if bad:
            reasons.append("it contains " + ", ".join(repr(ch) for ch in bad))
        if name[:1] == "-" or name[-1:] == "-":
            reasons.append("it starts or ends with '-'")
        if not name:
            reasons.append("it is empty")
        raise InvalidEnvNameError(
            f"environment name {name!r} is not allowed: {'; '.join(reasons) or 'not a DNS label'}.\n"
            "allowed: a lowercase DNS label of 1-40 characters — a-z, 0-9 and '-', starting and ending with "
            "a letter or digit (e.g. dev, prod, team-a-sandbox)."
        )
    return name


def default_platform_name(env: str) -> str:
    """The default prefix of physical resource names for ``env``: ``mlp-<env>``.

    Long environment names are shortened with a stable hash suffix, so two long names that share a
    prefix still get different resource names.
    """
    name = f"mlp-{env}"
    if len(name) <= _PLATFORM_NAME_MAX:
        return name
    digest = hashlib.sha256(env.encode()).hexdigest()[:6]
    return f"{name[: _PLATFORM_NAME_MAX - 7].rstrip('-')}-{digest}"


# Physical names the components derive from the platform name and the user's names. They live here, not
# in the components, because the spec checks them against AWS's limits before anything is deployed.


def endpoint_name(platform: str, endpoint: str) -> str:
    """A SageMaker endpoint's name (also the prefix of its alarms and capture path)."""
    return f"{platform}-{endpoint}"


VARIANT_NAME = "primary"
"""The production variant every endpoint serves its model from (autoscaling, alarms and dashboards name it)."""


def variant_resource_id(endpoint: str) -> str:
    """Application Auto Scaling's id of an endpoint's production variant."""
    return f"endpoint/{endpoint}/variant/{VARIANT_NAME}"


def endpoint_log_group(endpoint: str) -> str:
    """The CloudWatch log group SageMaker writes an endpoint's container logs to (a fixed AWS convention)."""
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def monitoring_name(endpoint: str) -> str:
    """The data-quality job definition and monitoring schedule of the endpoint named ``endpoint``."""
    return f"{endpoint}-data-quality"


def feature_group_name(platform: str, group: str) -> str:
    """A SageMaker feature group's name."""
    return f"{platform}-{group}"


def model_package_group_name(platform: str, group: str) -> str:
    """A SageMaker model package group's name."""
    return f"{platform}-{group}"


def repository_name(platform: str, repository: str) -> str:
    """An ECR repository's name."""
    return f"{platform}/{repository}"


def notebook_name(platform: str) -> str:
    """The notebook instance's name (dev environment kind ``notebook``)."""
    return f"{platform}-notebook"


def pipeline_name(platform: str) -> str:
    """The continuous-training SageMaker pipeline's name."""
    return f"{platform}-continuous-training"


def deploy_role_name(platform: str, provider: str, stage: str) -> str:
    """The IAM role that deploys CI/CD stage ``stage``: CodeBuild's (``codepipeline``) or GitHub Actions'."""
    return f"{platform}-{'github' if provider == 'github-oidc' else 'deploy'}-{stage}"


def feature_catalog_database(platform: str) -> str:
    """The Glue database of the offline feature store (Glue database names are lowercase with underscores)."""
    return platform.replace("-", "_")


def alarm_topic_name(platform: str) -> str:
    """The SNS alarm topic's name."""
    return f"{platform}-alarms"


# Key prefixes of the artifact bucket. Each workload role is granted exactly the prefixes it reads and
# writes (docs/security.md "Roles"), so the components that write under a prefix and the roles that may
# read it take the prefix from here.
INCOMING_PREFIX = "incoming/"
"""Where new training data lands: the default of ``pipelines.new_data_prefix``, and the pipeline's input location
when its new-data trigger is off."""
MODELS_PREFIX = "models/"
"""Model artifacts endpoints serve (the sample model, artifacts promoted by people or CI/CD)."""
TRAINING_PREFIX = "training/"
"""Output path of training jobs (the ``training`` stack output)."""
FEATURE_STORE_PREFIX = "feature-store/"
"""Offline feature store tables."""
EXPERIMENTS_PREFIX = "experiments/"
"""Scratch space of the dev environment's users: the only prefix they may write."""
CAPTURE_PREFIX = "capture/"
"""Endpoint data capture, one folder per endpoint."""
MONITORING_PREFIX = "monitoring/"
"""Model monitoring reports, one folder per endpoint."""


def pipeline_prefix(pipeline: str) -> str:
    """The pipeline's code, run outputs and trained models."""
    return f"pipelines/{pipeline}/"


def capture_prefix(endpoint: str) -> str:
    """Where an endpoint's captured requests and responses go."""
    return f"{CAPTURE_PREFIX}{endpoint}/"


def monitoring_prefix(endpoint: str) -> str:
    """Where an endpoint's monitoring reports go."""
    return f"{MONITORING_PREFIX}{endpoint}/"
