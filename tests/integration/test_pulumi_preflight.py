"""Before Pulumi runs: the AWS preflight of a ``target: aws`` environment, and the engine's own refusals.

The preflight asks STS (boto3) who the credentials are; here STS is the emulator's (``AWS_ENDPOINT_URL_STS``,
fake keys; the emulator's account is 123456789012). Every refusal is one clear message with the contract's
exit code, and nothing is created: no Pulumi stack in the backend, nothing tagged for the env in the emulator.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli import MLPLATFORM, Cli
from tests.integration.pulumi_env import isolated, needs_cli

pytestmark = [pytest.mark.integration, *needs_cli]

AWS_VARS = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("preflight")
    (root / "work" / "stacks").mkdir(parents=True)
    (root / "home").mkdir()
    runner = Cli(root / "work", root / "state", extra_env=isolated(root))
    try:
        yield runner
    finally:
        runner.stop_emulator()


def _env_file(cli: Cli, name: str, *, region: str = "us-east-1", account: str = "111111111111") -> None:
    (cli.cwd / "stacks" / f"{name}.yaml").write_text(
        f'blueprint: level0\ntarget: aws\nregion: {region}\naccount_id: "{account}"\n', encoding="utf-8"
    )


def _run(cli: Cli, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in cli.env.items() if key not in AWS_VARS}
    # No instance metadata lookups (they would leave this machine), no ~/.aws of the user's.
    environment |= {"AWS_EC2_METADATA_DISABLED": "true", "HOME": str(cli.state_dir.parent / "home")}
    environment |= {"PULUMI_CONFIG_PASSPHRASE": "test-only", **env}
    result = subprocess.run(
        [MLPLATFORM, *args], cwd=cli.cwd, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _nothing_changed(cli: Cli, env: str) -> None:
    stacks = cli.state_dir / "pulumi-state" / ".pulumi" / "stacks"
    assert not list(stacks.rglob(f"{env}.json*")), "a Pulumi stack was created"
    tagged = cli.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "mlplatform:env", "Values": [env]}]
    )["ResourceTagMappingList"]
    assert tagged == []


def _sts(cli: Cli) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_STS": cli.endpoint(),
        "AWS_ACCESS_KEY_ID": "preflight",
        "AWS_SECRET_ACCESS_KEY": "preflight",
    }


def test_another_account_is_refused_naming_both(cli: Cli) -> None:
    _env_file(cli, "prod")
    result = _run(cli, _sts(cli), "up", "--env", "prod", "--yes")
    assert result.returncode == 3, result.stderr
    assert "111111111111" in result.stderr and "123456789012" in result.stderr, result.stderr
    assert "nothing was changed" in result.stderr
    _nothing_changed(cli, "prod")


def test_the_right_account_passes_the_preflight(cli: Cli) -> None:
    """Counter-check: with the emulator's account the preflight passes and Pulumi runs (a preview only: the
    program's real-AWS provider has no endpoints, which the emulator provider refuses, as it must)."""
    _env_file(cli, "stage", account="123456789012")
    result = _run(cli, _sts(cli), "preview", "--env", "stage")
    assert "AWS credentials" not in result.stderr, result.stderr
    assert "the emulator provider serves only the local emulator" in result.stderr, result.stderr


def test_no_credentials_is_one_clear_error(cli: Cli) -> None:
    _env_file(cli, "dev")
    result = _run(cli, {"AWS_ENDPOINT_URL_STS": cli.endpoint()}, "up", "--env", "dev", "--yes")
    assert result.returncode == 3, result.stderr
    assert "no AWS credentials were found" in result.stderr and result.stderr.count("error:") == 1, result.stderr
    _nothing_changed(cli, "dev")


def test_a_bad_region_is_refused_by_the_spec(cli: Cli) -> None:
    _env_file(cli, "mars", region="mars-north-1")
    result = _run(cli, _sts(cli), "up", "--env", "mars", "--yes")
    assert result.returncode == 2, result.stderr
    assert "mars-north-1" in result.stderr and "region" in result.stderr
    _nothing_changed(cli, "mars")


def test_the_embedded_engine_is_refused_for_target_aws(cli: Cli) -> None:
    _env_file(cli, "dev")
    result = _run(cli, _sts(cli), "up", "--env", "dev", "--engine", "embedded", "--yes")
    assert result.returncode == 2, result.stderr
    assert "always deploys through the Pulumi engine" in result.stderr


def test_a_missing_pulumi_cli_is_one_clear_message(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"PATH": f"{empty}{os.pathsep}/usr/bin{os.pathsep}/bin", "MLPLATFORM_PULUMI_CLI": ""}
    result = _run(cli, env, "preview", "--engine", "pulumi")
    assert result.returncode == 1, result.stderr
    assert "needs the Pulumi CLI" in result.stderr and result.stderr.count("error:") == 1, result.stderr
