"""CI/CD role separation proven with real calls: moto's IAM access control evaluates each role's policy.

The real CLI deploys three environments into one emulator (the test's own state directory, so its own
server process): ``ci`` (CodePipeline + CodeBuild) and ``gh-a``/``gh-b`` (GitHub OIDC, the second reusing
the first's OIDC provider). Then each role's credentials make the calls a build or a deployment would.

How: moto enforces IAM policies once its access control is on. It is switched on and off with moto's own
``POST /moto-api/reset-auth`` (the runtime form of ``INITIAL_NO_AUTH_ACTION_COUNT``: ``0`` checks every
request, ``inf`` none), only on this test's emulator. The emulator names the resource of SageMaker and
CodeBuild requests (mlplatform/emulator/patches/iam.py, ``authorize_sagemaker_and_codebuild_by_resource``;
plain moto checks them against ``*``, shown below), so resource-scoped policies are evaluated as on AWS.

What moto cannot evaluate, asserted on the documents instead (tests/unit/test_cicd.py):

- trust policies of service principals: moto 5.2.5's trust check fails (HTTP 500) on a ``Service``
  principal, so the roles are assumed while access control is off and CodeBuild's ``aws:SourceArn``
  condition is checked on the document;
- the GitHub OIDC claims (``sub``, ``aud``) of ``AssumeRoleWithWebIdentity``, which moto does not check;
- ``iam:PassRole``, which moto never checks implicitly.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.integration.cli import Cli
from tests.integration.harness import moto_server

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
GITHUB_URL = "https://token.actions.githubusercontent.com"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mlp-ci/serving:1"

# A small platform with CI/CD: level0 without the network and dev environment (fast to deploy), plus cicd.
BLUEPRINT = """description: CI/CD roles on a small platform
extends: level0
level: 0
version: 1
network: {enabled: false}
dev_environment: {enabled: false}
cicd:
  enabled: true
  stages: [staging, prod]
"""
ENDPOINTS = """  serving:
    endpoints:
      - {name: staging-churn, model: {image: "serving:1", model_data_url: sample}}
      - {name: churn, model: {image: "serving:1", model_data_url: sample}}
"""


def _env(cicd: str) -> str:
    return (
        "blueprint: delivery\ntarget: local\nregion: us-east-1\noverrides:\n  protect: false\n"
        f"  allow_destroy_data: true\n  cicd: {cicd}\n{ENDPOINTS}"
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, str, dict[str, dict[str, Any]]]]:
    root = tmp_path_factory.mktemp("cicd-roles")
    (root / "blueprints").mkdir()
    (root / "stacks").mkdir()
    (root / "blueprints" / "delivery.yaml").write_text(BLUEPRINT, encoding="utf-8")
    (root / "stacks" / "ci.yaml").write_text(_env("{provider: codepipeline}"), encoding="utf-8")
    github = "{provider: github-oidc, repository: acme/models, github_environment: production"
    (root / "stacks" / "gh-a.yaml").write_text(_env(github + "}"), encoding="utf-8")
    (root / "stacks" / "gh-b.yaml").write_text(
        _env(github + f", github_oidc_provider_arn: '{PROVIDER_ARN}'}}"), encoding="utf-8"
    )
    cli = Cli(root, root / "state")
    try:
        outputs = {}
        for env in ("ci", "gh-a", "gh-b"):
            cli.run("up", "--env", env, "--yes")
            outputs[env] = cli.json("outputs", "--env", env)
        yield cli, cli.endpoint(), outputs
    finally:
        cli.stop_emulator()


def _client(endpoint: str, service: str, credentials: dict[str, str] | None = None) -> Any:
    keys = credentials or {"aws_access_key_id": "admin", "aws_secret_access_key": "admin"}
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", **keys)


def _access_control(endpoint: str, count: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "application/octet-stream"},  # moto reads the raw body, not a form
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
        assert json.loads(response.read())["status"] == "ok"


@contextmanager
def enforced(endpoint: str) -> Iterator[None]:
    """moto checks every request against the caller's IAM policies inside this block."""
    _access_control(endpoint, "0")
    try:
        yield
    finally:
        _access_control(endpoint, "inf")


def _as_role(endpoint: str, role: str) -> dict[str, str]:
    """Credentials of ``role`` (assumed while access control is off: see the module docstring)."""
    credentials = _client(endpoint, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="separation-test"
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def _outcome(call: Any) -> str:
    """``ok``, ``denied`` (AccessDenied) or the error code of any other failure."""
    try:
        call()
    except ClientError as error:
        code = str(error.response["Error"]["Code"])
        # moto answers a denial in XML even to JSON services, whose client then reports the code as "403".
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        denied = code in ("AccessDenied", "AccessDeniedException") or (status == 403 and "AccessDenied" in str(error))
        return "denied" if denied else code
    return "ok"


def _roll_out(endpoint: str, credentials: dict[str, str], platform: str, target: str, version: str) -> list[str]:
    """What a deploy script does: a model and an endpoint configuration for a new version, then the switch."""
    sm = _client(endpoint, "sagemaker", credentials)
    name = f"{platform}-{target}-{version}"
    execution = f"arn:aws:iam::{ACCOUNT}:role/{platform}-sagemaker-execution"
    return [
        _outcome(
            lambda: sm.create_model(ModelName=name, ExecutionRoleArn=execution, PrimaryContainer={"Image": IMAGE})
        ),
        _outcome(
            lambda: sm.create_endpoint_config(
                EndpointConfigName=name,
                ProductionVariants=[
                    {
                        "VariantName": "primary",
                        "ModelName": name,
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 1,
                    }
                ],
            )
        ),
        _outcome(lambda: sm.update_endpoint(EndpointName=f"{platform}-{target}", EndpointConfigName=name)),
    ]


def _config_of(endpoint: str, name: str) -> str:
    return str(_client(endpoint, "sagemaker").describe_endpoint(EndpointName=name)["EndpointConfigName"])


# ---- codepipeline ------------------------------------------------------------------------------------


def test_only_the_production_role_rolls_out_the_production_endpoint(deployed: tuple[Cli, str, Any]) -> None:
    _, endpoint, _ = deployed
    roles = {role: _as_role(endpoint, f"mlp-ci-{role}") for role in ("codebuild", "deploy-staging", "deploy-prod")}
    before = _config_of(endpoint, "mlp-ci-churn")
    with enforced(endpoint):
        build = _roll_out(endpoint, roles["codebuild"], "mlp-ci", "churn", "build")
        staging = _roll_out(endpoint, roles["deploy-staging"], "mlp-ci", "churn", "staging")
        prod = _roll_out(endpoint, roles["deploy-prod"], "mlp-ci", "churn", "v2")
    assert build == ["denied", "denied", "denied"]
    assert staging == ["denied", "denied", "denied"]
    assert prod == ["ok", "ok", "ok"]
    assert before != "mlp-ci-churn-v2" and _config_of(endpoint, "mlp-ci-churn") == "mlp-ci-churn-v2"


def test_the_staging_role_rolls_out_staging_and_nothing_else(deployed: tuple[Cli, str, Any]) -> None:
    _, endpoint, _ = deployed
    staging, prod = _as_role(endpoint, "mlp-ci-deploy-staging"), _as_role(endpoint, "mlp-ci-deploy-prod")
    with enforced(endpoint):
        by_staging = _roll_out(endpoint, staging, "mlp-ci", "staging-churn", "v2")
        by_prod = _roll_out(endpoint, prod, "mlp-ci", "staging-churn", "v3")
    assert by_staging == ["ok", "ok", "ok"]
    assert by_prod == ["denied", "denied", "denied"]
    assert _config_of(endpoint, "mlp-ci-staging-churn") == "mlp-ci-staging-churn-v2"


def test_the_build_role_reads_the_source_and_can_deploy_or_start_nothing(deployed: tuple[Cli, str, Any]) -> None:
    _, endpoint, _ = deployed
    bucket = f"mlp-ci-cicd-{ACCOUNT}"
    _client(endpoint, "s3").put_object(Bucket=bucket, Key="source/main.zip", Body=b"commit")
    build = _as_role(endpoint, "mlp-ci-codebuild")
    s3, sts = _client(endpoint, "s3", build), _client(endpoint, "sts", build)
    codebuild = _client(endpoint, "codebuild", build)
    with enforced(endpoint):
        read = _outcome(lambda: s3.get_object(Bucket=bucket, Key="source/main.zip"))
        write = _outcome(lambda: s3.put_object(Bucket=bucket, Key="source/main.zip", Body=b"tampered"))
        start = _outcome(lambda: codebuild.start_build(projectName="mlp-ci-deploy-prod"))
        assume = _outcome(
            lambda: sts.assume_role(
                RoleArn=f"arn:aws:iam::{ACCOUNT}:role/mlp-ci-deploy-prod", RoleSessionName="escalate"
            )
        )
    # The credentials work (a positive control), and everything beyond reading the source is refused.
    assert (read, write, start, assume) == ("ok", "denied", "denied", "denied")


def test_the_pipeline_starts_each_project_but_cannot_assume_their_roles(deployed: tuple[Cli, str, Any]) -> None:
    _, endpoint, _ = deployed
    pipeline = _as_role(endpoint, "mlp-ci-codepipeline")
    codebuild, sts = _client(endpoint, "codebuild", pipeline), _client(endpoint, "sts", pipeline)
    with enforced(endpoint):
        started = [
            _outcome(lambda project=project: codebuild.start_build(projectName=project))
            for project in ("mlp-ci-build", "mlp-ci-deploy-staging", "mlp-ci-deploy-prod")
        ]
        assumed = [
            _outcome(
                lambda role=role: sts.assume_role(
                    RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="escalate"
                )
            )
            for role in ("mlp-ci-codebuild", "mlp-ci-deploy-staging", "mlp-ci-deploy-prod")
        ]
        rolled = _roll_out(endpoint, pipeline, "mlp-ci", "churn", "pipeline")
    assert started == ["ok", "ok", "ok"]
    assert assumed == ["denied", "denied", "denied"]
    assert rolled == ["denied", "denied", "denied"]


def test_the_deployed_pipeline_waits_for_approval_before_production(deployed: tuple[Cli, str, Any]) -> None:
    _, endpoint, _ = deployed
    pipeline = _client(endpoint, "codepipeline").get_pipeline(name="mlp-ci-model-delivery")["pipeline"]
    stages = [stage["name"] for stage in pipeline["stages"]]
    assert stages == ["Source", "Build", "Deploy-staging", "Approve-prod", "Deploy-prod"]
    projects = _client(endpoint, "codebuild").batch_get_projects(
        names=["mlp-ci-build", "mlp-ci-deploy-staging", "mlp-ci-deploy-prod"]
    )["projects"]
    assert {p["name"]: p["serviceRole"].rsplit("/", 1)[-1] for p in projects} == {
        "mlp-ci-build": "mlp-ci-codebuild",
        "mlp-ci-deploy-staging": "mlp-ci-deploy-staging",
        "mlp-ci-deploy-prod": "mlp-ci-deploy-prod",
    }


# ---- github-oidc, and one OIDC provider for two environments in one account --------------------------


def test_two_github_environments_share_the_accounts_oidc_provider(deployed: tuple[Cli, str, Any]) -> None:
    _, endpoint, outputs = deployed
    iam = _client(endpoint, "iam")
    assert [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]] == [PROVIDER_ARN]
    for env in ("gh-a", "gh-b"):
        platform = f"mlp-{env}"
        assert outputs[env]["deploy_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/{platform}-github-prod"
        (prod,) = iam.get_role(RoleName=f"{platform}-github-prod")["Role"]["AssumeRolePolicyDocument"]["Statement"]
        (staging,) = iam.get_role(RoleName=f"{platform}-github-staging")["Role"]["AssumeRolePolicyDocument"][
            "Statement"
        ]
        assert prod["Principal"] == staging["Principal"] == {"Federated": PROVIDER_ARN}
        assert prod["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
            "repo:acme/models:environment:production"
        )
        assert staging["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
            "repo:acme/models:ref:refs/heads/main"
        )


def test_the_second_environment_keeps_working_and_destroys_without_the_provider(
    deployed: tuple[Cli, str, Any],
) -> None:
    cli, endpoint, _ = deployed
    cli.run("up", "--env", "gh-b", "--yes")  # converged: reusing the provider plans no change
    cli.run("destroy", "--env", "gh-b", "--yes")
    providers = _client(endpoint, "iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [PROVIDER_ARN]  # gh-a's, still there for gh-a's roles
    cli.run("up", "--env", "gh-b", "--yes")


def test_an_environment_that_would_create_the_provider_again_is_told_to_reuse_it(
    deployed: tuple[Cli, str, Any],
) -> None:
    cli, _, _ = deployed
    (cli.cwd / "stacks" / "gh-c.yaml").write_text(_env("{provider: github-oidc, repository: acme/models}"), "utf-8")
    failed = cli.run("up", "--env", "gh-c", "--yes", code=4)
    said = failed.stdout + failed.stderr
    assert f"already has an OpenID Connect provider for {GITHUB_URL} ({PROVIDER_ARN})" in said
    assert "set cicd.github_oidc_provider_arn to that ARN" in said
    cli.run("destroy", "--env", "gh-c", "--yes")


def test_github_roles_are_separated_by_real_calls(deployed: tuple[Cli, str, Any]) -> None:
    _, endpoint, _ = deployed
    staging, prod = _as_role(endpoint, "mlp-gh-a-github-staging"), _as_role(endpoint, "mlp-gh-a-github-prod")
    other_env = _as_role(endpoint, "mlp-gh-b-github-prod")
    with enforced(endpoint):
        by_staging = _roll_out(endpoint, staging, "mlp-gh-a", "churn", "staging")
        by_other_env = _roll_out(endpoint, other_env, "mlp-gh-a", "churn", "other")
        by_prod = _roll_out(endpoint, prod, "mlp-gh-a", "churn", "v2")
    assert by_staging == by_other_env == ["denied", "denied", "denied"]
    assert by_prod == ["ok", "ok", "ok"]


# ---- the emulator patch this relies on ---------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_moto() -> Iterator[str]:
    with moto_server(patched=False) as url:
        yield url


@pytest.fixture(scope="module")
def patched() -> Iterator[str]:
    """The emulator's server (moto plus mlplatform's patches), for this module only: access control is global."""
    with moto_server() as url:
        yield url


def _scoped_update(endpoint: str, allowed_endpoint: str) -> str:
    """A role allowed UpdateEndpoint on ``endpoint/<allowed_endpoint>`` only, calling it on ``churn``."""
    iam = _client(endpoint, "iam")
    role = f"scoped-{allowed_endpoint}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    permission = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sagemaker:UpdateEndpoint"],
                "Resource": [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{allowed_endpoint}"],
            }
        ],
    }
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(permission))
    credentials = _as_role(endpoint, role)
    sm = _client(endpoint, "sagemaker", credentials)
    with enforced(endpoint):
        return _outcome(lambda: sm.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2"))


def test_plain_moto_denies_every_resource_scoped_sagemaker_permission(plain_moto: str) -> None:
    """The gap: moto checks SageMaker requests against ``*``, so a policy naming the endpoint never matches."""
    assert _scoped_update(plain_moto, "churn") == "denied"


def test_the_emulator_checks_sagemaker_requests_against_the_resource_they_name(patched: str) -> None:
    # Allowed by the policy: the request reaches SageMaker, which answers that there is no such endpoint.
    assert _scoped_update(patched, "churn") not in ("denied", "ok")
    assert _scoped_update(patched, "other") == "denied"


def test_access_control_is_off_unless_switched_on(patched: str) -> None:
    sm = _client(patched, "sagemaker", {"aws_access_key_id": "nobody", "aws_secret_access_key": "x"})
    assert _outcome(lambda: sm.list_endpoints()) == "ok"
