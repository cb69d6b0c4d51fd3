"""The emulator provider under the real Pulumi engine: Automation API + Pulumi CLI + the plugin, against moto.

A small inline program (a KMS key, a bucket, the bucket's encryption with the key, a secret tag) goes through
create, an in-place tag change, a replace-forcing rename, a refresh after an out-of-band change and destroy,
each checked independently with boto3. The plugin is the ``pulumi-resource-aws`` shim written into this test's
temporary directory and put first on ``PATH`` (an ambient plugin); ``PULUMI_HOME`` and the state backend are
temporary too, so nothing reaches the user's Pulumi home or plugin cache.

Needs the Pulumi CLI built from its Go module (``tests/integration/pulumi_env.py`` finds it; the test command builds
it first). Skipped, saying so, only when it is not there.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi import automation as auto

from mlplatform.app.emulator_provider import write_plugin
from mlplatform.engine.pulumi.emulator_provider import plugin_version
from mlplatform.engine.pulumi.engine import collect_abandoned_programs
from mlplatform.engine.values import is_secret
from tests.integration.harness import SERVICES, client
from tests.integration.pulumi_env import needs_cli, pulumi_cli_dir

pytestmark = [pytest.mark.integration, *needs_cli]

PASSPHRASE = "emulator-provider-test"
SECRET = "hunter2-never-in-state"
KEY_DESCRIPTION = "emulator provider test key"


CLI = pulumi_cli_dir()


@dataclass
class Settings:
    """What the inline program declares; the test edits it between runs."""

    endpoint: str
    bucket: str = "mlp-emuprov-a"
    team: str = "a"
    key_description: str = KEY_DESCRIPTION


def program(settings: Settings) -> Callable[[], None]:
    def run() -> None:
        provider = aws.Provider(
            "local",
            region="us-east-1",
            access_key="mlplatform-local",
            secret_key="mlplatform-local",
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
            s3_use_path_style=True,
            endpoints=[aws.ProviderEndpointArgs(**dict.fromkeys(SERVICES, settings.endpoint))],
        )
        opts = pulumi.ResourceOptions(provider=provider)
        key = aws.kms.Key(
            "key",
            description=settings.key_description,
            deletion_window_in_days=7,
            opts=opts.merge(pulumi.ResourceOptions(ignore_changes=["description"])),
        )
        bucket = aws.s3.Bucket(
            "bucket",
            bucket=settings.bucket,
            force_destroy=True,
            tags={"team": settings.team, "token": pulumi.Output.secret(SECRET)},
            opts=opts,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            "encryption",
            bucket=bucket.id,
            rules=[
                {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}}
            ],
            opts=opts,
        )
        pulumi.export("bucket", bucket.bucket)
        pulumi.export("key_arn", key.arn)

    return run


@dataclass
class Run:
    """The engine events of one operation, by URN: the step ops in the order they began."""

    events: list[auto.EngineEvent] = field(default_factory=list)

    def ops(self, name: str) -> list[str]:
        return [
            str(e.resource_pre_event.metadata.op.value)
            for e in self.events
            if e.resource_pre_event and e.resource_pre_event.metadata.urn.endswith(f"::{name}")
        ]

    def diagnostics(self) -> list[str]:
        return [e.diagnostic_event.message for e in self.events if e.diagnostic_event]


def ours(s3: Any) -> list[str]:
    """This module's buckets (the emulator is shared with the session's other integration modules)."""
    return sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("mlp-emuprov-"))


def pulumi_stack(name: str, run: Callable[[], None], root: Path, env: dict[str, str]) -> auto.Stack:
    """Stack ``name`` of project mlplatform running ``run`` inline, with the CLI, home and backend of ``env``."""
    return auto.create_or_select_stack(
        name,
        project_name="mlplatform",
        program=run,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(root),
            pulumi_home=env["PULUMI_HOME"],
            env_vars=env,
            secrets_provider="passphrase",
            project_settings=auto.ProjectSettings(name="mlplatform", runtime="python"),
            pulumi_command=auto.PulumiCommand(root=str(root / "cli")),
        ),
    )


@pytest.fixture(scope="module")
def pulumi_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    assert CLI is not None
    root = tmp_path_factory.mktemp("pulumi")
    plugins = write_plugin(root / "plugins").parent
    # PulumiCommand runs <root>/bin/pulumi; the binaries themselves stay where they were built (the CLI finds the
    # language host next to its resolved path, and on PATH).
    (root / "cli" / "bin").mkdir(parents=True)
    (root / "cli" / "bin" / "pulumi").symlink_to(CLI / "pulumi")
    (root / "state").mkdir()
    env = {
        "PATH": os.pathsep.join([str(plugins), str(CLI), os.environ.get("PATH", "")]),
        "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_HOME": str(root / "home"),
    }
    yield root, env


def test_the_pulumi_engine_deploys_updates_replaces_refreshes_and_destroys_through_the_emulator_provider(
    endpoint: str, pulumi_env: tuple[Path, dict[str, str]]
) -> None:
    """The lifecycle, each step checked with boto3 and, where it matters, by the engine's own step ops."""
    root, env = pulumi_env
    settings = Settings(endpoint)
    s3, kms = client(endpoint, "s3"), client(endpoint, "kms")
    timings: dict[str, float] = {}

    def timed(what: str, call: Callable[[Run], Any]) -> tuple[Any, Run]:
        run = Run()
        started = time.monotonic()
        result = call(run)
        timings[what] = round(time.monotonic() - started, 1)
        return result, run

    stack = pulumi_stack("test", program(settings), root, env)

    # -- create ------------------------------------------------------------------------------------------------
    preview, _ = timed("preview", lambda run: stack.preview(on_event=run.events.append))
    assert preview.change_summary == {"create": 5}  # stack, provider, key, bucket, encryption
    up, run = timed("create", lambda run: stack.up(on_event=run.events.append))
    assert up.summary.result == "succeeded"
    assert any("pulumi-resource-aws from $PATH" in d for d in run.diagnostics()), run.diagnostics()
    key_arn = up.outputs["key_arn"].value
    assert up.outputs["bucket"].value == "mlp-emuprov-a"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="mlp-emuprov-a")["TagSet"]}
    assert tags == {"team": "a", "token": SECRET}  # the cloud gets the secret's value
    rule = s3.get_bucket_encryption(Bucket="mlp-emuprov-a")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key_arn
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["Description"] == KEY_DESCRIPTION
    state = list((root / "state").rglob("*.json"))
    assert state and not any(SECRET in path.read_text() for path in state), "a secret is in the state in plaintext"

    # -- a tag: update in place (and an ignored change: none) -------------------------------------------------------
    settings.team = "b"
    settings.key_description = "changed, but ignore_changes keeps the recorded one"
    up, run = timed("update", lambda run: stack.up(on_event=run.events.append))
    assert up.summary.resource_changes == {"update": 1, "same": 4}
    assert run.ops("bucket") == ["update"]
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="mlp-emuprov-a")["TagSet"]}
    assert tags["team"] == "b"
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["Description"] == KEY_DESCRIPTION

    # -- a fixed name: replace (create first: the new name can coexist with the old one) --------------------------
    settings.bucket = "mlp-emuprov-b"
    up, run = timed("replace", lambda run: stack.up(on_event=run.events.append))
    assert up.summary.resource_changes == {"replace": 2, "same": 3}
    assert run.ops("bucket") == ["create-replacement", "replace", "delete-replaced"]
    assert run.ops("encryption") == ["create-replacement", "replace", "delete-replaced"]
    assert ours(s3) == ["mlp-emuprov-b"]
    rule = s3.get_bucket_encryption(Bucket="mlp-emuprov-b")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key_arn

    # -- refresh after an out-of-band change ---------------------------------------------------------------------
    s3.put_bucket_tagging(
        Bucket="mlp-emuprov-b", Tagging={"TagSet": [{"Key": "team", "Value": "oob"}, {"Key": "token", "Value": SECRET}]}
    )
    refresh, _ = timed("refresh", lambda run: stack.refresh(on_event=run.events.append))
    assert refresh.summary.resource_changes == {"update": 1, "same": 4}
    (recorded,) = [r for r in stack.export_stack().deployment["resources"] if r["urn"].endswith("::bucket")]
    assert recorded["inputs"]["tags"]["team"] == "oob"
    assert is_secret(recorded["inputs"]["tags"]["token"]), "the secret tag lost its secrecy in the refresh"
    assert not any(SECRET in path.read_text() for path in (root / "state").rglob("*.json"))
    preview, _ = timed("preview after refresh", lambda run: stack.preview(on_event=run.events.append))
    assert preview.change_summary == {"update": 1, "same": 4}
    stack.up()
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="mlp-emuprov-b")["TagSet"]}
    assert tags["team"] == "b"

    # -- deleted outside: refresh drops it from state --------------------------------------------------------------
    # (moto leaves a key pending deletion; the bucket is the resource that can really disappear)
    s3.delete_bucket_encryption(Bucket="mlp-emuprov-b")
    s3.delete_bucket(Bucket="mlp-emuprov-b")
    refresh, _ = timed("refresh after delete", lambda run: stack.refresh(on_event=run.events.append))
    assert refresh.summary.resource_changes == {"delete": 2, "same": 3}  # the bucket and its encryption
    urns = [r["urn"] for r in stack.export_stack().deployment["resources"]]
    assert not any(urn.endswith(("::bucket", "::encryption")) for urn in urns)
    stack.up()
    assert ours(s3) == ["mlp-emuprov-b"]

    # -- destroy ------------------------------------------------------------------------------------------------
    destroy, _ = timed("destroy", lambda run: stack.destroy(on_event=run.events.append))
    assert destroy.summary.result == "succeeded"
    assert ours(s3) == []
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert stack.export_stack().deployment.get("resources") in (None, [])
    # The plugin was used where it stood (ambient), never installed into the (isolated) plugin cache.
    assert not list((root / "home").glob(f"plugins/resource-aws-v{plugin_version()}*"))
    print(json.dumps({"timings_seconds": timings}))


@pytest.mark.parametrize(
    ("name", "explicit"),
    [("default-provider", None), ("real-aws-endpoint", "https://s3.us-east-1.amazonaws.com")],
)
def test_the_pulumi_engine_is_refused_anything_but_the_emulator(
    name: str, explicit: str | None, endpoint: str, pulumi_env: tuple[Path, dict[str, str]]
) -> None:
    """The default provider (no configuration) and an explicit one with a real AWS endpoint: nothing is created."""
    root, env = pulumi_env

    def run() -> None:
        opts = None
        if explicit is not None:
            endpoints = {**dict.fromkeys(SERVICES, endpoint), "s3": explicit}
            provider = aws.Provider("aws-real", region="us-east-1", endpoints=[aws.ProviderEndpointArgs(**endpoints)])
            opts = pulumi.ResourceOptions(provider=provider)
        aws.s3.Bucket("refused", bucket=f"mlp-emuprov-{name}", opts=opts)

    stack = pulumi_stack(name, run, root, env)
    lines: list[str] = []
    with pytest.raises(auto.errors.CommandError):
        stack.up(on_output=lines.append)
    collect_abandoned_programs()  # as the Pulumi engine does after a failed run
    message = "\n".join(lines)
    assert "the emulator provider serves only the local emulator" in message
    assert ("endpoints: none set" if explicit is None else f"s3={explicit}") in message
    assert "real pulumi-aws plugin" in message
    assert "Traceback" not in message
    assert f"mlp-emuprov-{name}" not in ours(client(endpoint, "s3"))


def test_an_installed_plugin_is_found_by_its_version(
    endpoint: str, pulumi_env: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """The other way in: `pulumi plugin install resource aws <version> --file <shim>` into an isolated PULUMI_HOME,
    with no shim on PATH; the engine selects the installed plugin by the version the program asks for."""
    root, shared = pulumi_env
    shim = write_plugin(tmp_path / "shim")
    env = {
        **shared,
        "PATH": os.pathsep.join([str(CLI), os.environ.get("PATH", "")]),
        "PULUMI_HOME": str(tmp_path / "home"),
    }
    subprocess.run(
        [str(root / "cli" / "bin" / "pulumi"), "plugin", "install", "resource", "aws", plugin_version(), "--file",
         str(shim)],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert (tmp_path / "home" / "plugins" / f"resource-aws-v{plugin_version()}" / "pulumi-resource-aws").is_file()
    settings = Settings(endpoint, bucket="mlp-emuprov-installed")
    stack = pulumi_stack("installed", program(settings), root, env)
    run = Run()
    assert stack.up(on_event=run.events.append).summary.result == "succeeded"
    assert not any("from $PATH" in d for d in run.diagnostics()), run.diagnostics()
    assert "mlp-emuprov-installed" in ours(client(endpoint, "s3"))
    stack.destroy()
    assert "mlp-emuprov-installed" not in ours(client(endpoint, "s3"))
