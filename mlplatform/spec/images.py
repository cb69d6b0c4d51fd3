"""AWS-owned container images the platform runs, per region: where SageMaker Model Monitor's analyzer lives.

Model Monitor's data-quality jobs run the ``sagemaker-model-monitor-analyzer`` image, which AWS publishes
from a different registry account in every region it is offered in. The table is the one the SageMaker
Python SDK ships (``image_uri_config/model-monitor.json`` of sagemaker-core 2.27, the same accounts as
Terraform's ``aws_sagemaker_prebuilt_ecr_image``). A region missing from it has no analyzer image: the
spec refuses data-quality monitoring there (see :mod:`mlplatform.spec.models`) instead of pointing the job
at another region's account, which SageMaker would refuse mid-deploy.
"""

from __future__ import annotations

from mlplatform.spec import awsmodel

MODEL_MONITOR_REPOSITORY = "sagemaker-model-monitor-analyzer"

MODEL_MONITOR_ACCOUNTS: dict[str, str] = {
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-northeast-3": "990339680094",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234",
    "cn-north-1": "453000072557",
    "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253",
    "eu-central-2": "590183933784",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-south-2": "437450045455",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "il-central-1": "843974653677",
    "me-central-1": "588750061953",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-isof-east-1": "853188333426",
    "us-isof-south-1": "467912361380",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}
"""The account that publishes Model Monitor's analyzer image in each region where Model Monitor is offered."""


class UnknownImageRegionError(ValueError):
    """AWS publishes no such image in the region."""


def model_monitor_image(region: str) -> str:
    """The analyzer image URI in ``region`` (``<account>.dkr.ecr.<region>.<partition domain>/<repository>``).

    Raises:
        UnknownImageRegionError: Model Monitor is not offered in ``region``.
    """
    account = MODEL_MONITOR_ACCOUNTS.get(region)
    if account is None:
        raise UnknownImageRegionError(
            f"SageMaker Model Monitor publishes no {MODEL_MONITOR_REPOSITORY} image in region {region!r}"
        )
    return f"{account}.dkr.ecr.{region}.{awsmodel.dns_suffix_of(region) or 'amazonaws.com'}/{MODEL_MONITOR_REPOSITORY}"
