"""Target aws names its account (issue 8, item 2, spec side); Model Monitor's image per region (item 12).

* ``account_id`` is required for target aws: ``validate`` says so at the env file's line, with an example
  and ``init --account-id`` in the hint; ``init`` refuses target aws without ``--account-id``; the shipped
  stacks still validate.
* The analyzer image comes from the account that publishes it in the environment's region (every region of
  the SageMaker SDK's table); a region without Model Monitor is refused at validate, naming the region.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from mlplatform import blueprints, environments
from mlplatform.program import TargetSettings, platform_of
from mlplatform.spec import awsmodel
from mlplatform.spec.images import MODEL_MONITOR_ACCOUNTS, UnknownImageRegionError, model_monitor_image
from mlplatform.spec.models import PlatformSpec
from tests.unit.platform_plans import evaluate

Run = Callable[..., Result]
REPO = Path(__file__).resolve().parents[2]


def _write(root: Path, env: str, text: str) -> None:
    (root / "stacks").mkdir(exist_ok=True)
    (root / "stacks" / f"{env}.yaml").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# item 2: account_id for target aws
# --------------------------------------------------------------------------------------------------


def test_target_aws_without_account_id_is_refused_at_the_target_line(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "dev", "blueprint: level1\ntarget: aws\nregion: eu-west-1\nowner: me@example.com\n")
    result = run("validate", "--env", "dev")
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert "stacks/dev.yaml:2: account_id\n" in message
    assert "problem: target aws needs account_id" in message
    assert 'allowed: the 12-digit AWS account id, quoted, at the top level of the environment file: account_id: "' in (
        message
    )
    hint = message.split("hint: ", 1)[1]
    assert "    target: aws\n    region: eu-west-1\n    account_id: " in hint  # the env file example
    assert "mlplatform init --env dev --target aws --region eu-west-1 --account-id 123456789012" in hint
    assert "Traceback" not in result.output

    document = json.loads(run("validate", "--env", "dev", "--json").stdout)
    [problem] = document["problems"]
    assert (problem["file"], problem["line"], problem["path"], problem["value"]) == (
        "stacks/dev.yaml",
        2,
        "account_id",
        None,
    )


def test_target_aws_with_account_id_validates_and_local_needs_none(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "dev", 'blueprint: level1\ntarget: aws\nregion: eu-west-1\naccount_id: "111111111111"\n')
    assert run("validate", "--env", "dev").exit_code == 0
    _write(tmp_path, "lab", "target: local\n")
    assert run("validate", "--env", "lab").exit_code == 0


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_shipped_stacks_validate(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    spec = environments.resolve(env, project_dir=REPO).spec
    assert spec.target == "aws" and spec.account_id is not None


def test_init_refuses_target_aws_without_an_account_id(run: Run, tmp_path: Path) -> None:
    result = run("init", "--env", "dev", "--target", "aws", "--region", "eu-west-1")
    assert result.exit_code == 2, result.output
    assert "target aws needs an account id for environment 'dev'" in result.stderr
    assert "hint: Pass it: `mlplatform init --env dev --target aws --region eu-west-1 --account-id " in result.stderr
    assert not (tmp_path / "stacks").exists()  # nothing written

    written = run("init", "--env", "dev", "--target", "aws", "--region", "eu-west-1", "--account-id", "111111111111")
    assert written.exit_code == 0, written.output
    written_file = yaml.safe_load((tmp_path / "stacks" / "dev.yaml").read_text(encoding="utf-8"))
    assert written_file["account_id"] == "111111111111"
    assert run("validate", "--env", "dev").exit_code == 0


# --------------------------------------------------------------------------------------------------
# item 12: Model Monitor's image in every region that has it, and a clear refusal elsewhere
# --------------------------------------------------------------------------------------------------


def test_the_table_covers_the_sdks_thirty_regions_all_known_to_botocore() -> None:
    assert len(MODEL_MONITOR_ACCOUNTS) == 30
    assert all(awsmodel.partition_of(region) for region in MODEL_MONITOR_ACCOUNTS)
    assert all(len(account) == 12 and account.isdigit() for account in MODEL_MONITOR_ACCOUNTS.values())


@pytest.mark.parametrize(
    ("region", "image"),
    [
        ("us-east-1", "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"),
        ("eu-central-2", "590183933784.dkr.ecr.eu-central-2.amazonaws.com/sagemaker-model-monitor-analyzer"),
        ("il-central-1", "843974653677.dkr.ecr.il-central-1.amazonaws.com/sagemaker-model-monitor-analyzer"),
        ("cn-north-1", "453000072557.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-model-monitor-analyzer"),
    ],
)
def test_each_region_gets_its_own_accounts_image(region: str, image: str) -> None:
    assert model_monitor_image(region) == image
    with pytest.raises(UnknownImageRegionError, match="ap-southeast-4"):
        model_monitor_image("ap-southeast-4")


LEVEL1_MONITORED = """\
blueprint: level1
target: aws
region: {region}
account_id: "111111111111"
overrides:
  serving:
    endpoints:
      - name: churn
        model: {{image: "serving:1"}}
        data_capture_percent: 10
"""


def test_the_monitoring_job_runs_the_regions_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "dev", LEVEL1_MONITORED.format(region="eu-south-2"))
    plan = evaluate(environments.resolve("dev", project_dir=tmp_path).spec)
    [job] = plan.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    image = job.inputs["dataQualityAppSpecification"]["imageUri"]
    assert image == "437450045455.dkr.ecr.eu-south-2.amazonaws.com/sagemaker-model-monitor-analyzer"


def test_a_region_without_model_monitor_is_refused_naming_it(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "dev", LEVEL1_MONITORED.format(region="ap-southeast-4"))
    result = run("validate", "--env", "dev")
    assert result.exit_code == 2, result.output
    assert "monitoring.data_quality.enabled" in result.stderr
    assert "SageMaker Model Monitor is not offered in region ap-southeast-4" in result.stderr
    assert "allowed: data_quality.enabled: false, or a region with Model Monitor: af-south-1," in result.stderr
    switched_off = (
        LEVEL1_MONITORED.format(region="ap-southeast-4") + "  monitoring:\n    data_quality:\n      enabled: false\n"
    )
    _write(tmp_path, "dev", switched_off)
    assert run("validate", "--env", "dev").exit_code == 0, "without data-quality monitoring the region is fine"


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("eu-west-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_the_program_builds_arns_in_the_partition_the_spec_checks_them_against(region: str, partition: str) -> None:
    # One derivation of a region's partition (botocore's data): the program once guessed it from the region's
    # name, and put every ARN of an ISO region in the `aws` partition.
    spec = PlatformSpec.model_validate(
        {
            **blueprints.resolve("level0").settings.model_dump(),
            **{"name": "mlp-p", "env": "p", "blueprint": "level0", "level": 0, "target": "aws"},
            **{"region": region, "account_id": "111111111111"},
        }
    )

    assert platform_of(spec, TargetSettings(region=region)).partition == partition
    assert awsmodel.partition_of(region) == partition
