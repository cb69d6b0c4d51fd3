"""What ``validate`` accepts, ``up`` deploys: a GPU endpoint, end to end through the real CLI and emulator.

``mlplatform validate`` checks instance types against botocore's SageMaker model; the emulator used to
check them against moto's own, older list and refused ``ml.g5.xlarge`` with a ValidationException in the
middle of ``up``. Here the CLI validates, deploys and destroys an environment whose endpoint runs on
``ml.g5.xlarge``, and boto3 reads the endpoint configuration back from the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli import Cli

pytestmark = pytest.mark.integration

ENV = """\
blueprint: level0
target: local
overrides:
  serving:
    endpoints:
      - name: gpu
        instance_type: ml.g5.xlarge
        model:
          image: "serving:sample"
          model_data_url: sample
"""


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    (tmp_path / "work" / "stacks").mkdir(parents=True)
    (tmp_path / "work" / "stacks" / "local.yaml").write_text(ENV, encoding="utf-8")
    runner = Cli(tmp_path / "work", tmp_path / "state")
    try:
        yield runner
    finally:
        runner.stop_emulator()


def test_an_endpoint_on_a_gpu_instance_type_validates_deploys_and_is_destroyed(cli: Cli) -> None:
    validated = cli.json("validate")
    assert validated["valid"] and validated["spec"]["serving"]["endpoints"][0]["instance_type"] == "ml.g5.xlarge"

    applied = cli.json("up", "--yes")
    assert applied["failed"] == 0, applied

    sm = cli.client("sagemaker")
    endpoint = sm.describe_endpoint(EndpointName="mlp-local-gpu")
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert [variant["InstanceType"] for variant in config["ProductionVariants"]] == ["ml.g5.xlarge"]

    cli.run("destroy", "--yes")
    assert not [e for e in sm.list_endpoints()["Endpoints"] if e["EndpointName"] == "mlp-local-gpu"]
