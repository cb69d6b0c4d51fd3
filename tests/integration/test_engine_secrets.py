"""Secrets stay secret: ``[secret]`` in every rendering, never plaintext in the state files."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.app.conventions import CONVENTIONS
from mlplatform.engine.embedded.engine import EmbeddedEngine
from mlplatform.engine.model import Stack
from mlplatform.render.plan import outputs_json, outputs_text, plan_text, result_text
from tests.integration.harness import client, provider

pytestmark = pytest.mark.integration

SECRET = "hunter2-do-not-print"


def _program(endpoint: str, tag: str) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    bucket = aws.s3.Bucket(
        "secret-bucket",
        bucket="mlp-secret-test",
        force_destroy=True,
        tags={"managed-by": "mlplatform", "token": pulumi.Output.secret(tag)},
        opts=opts,
    )
    pulumi.export("token", pulumi.Output.secret(tag))
    pulumi.export("bucket", bucket.bucket)


def test_secrets_are_masked_everywhere_and_encrypted_in_state(endpoint: str, tmp_path: Path) -> None:
    engine = EmbeddedEngine(tmp_path, conventions=CONVENTIONS, endpoint=endpoint)
    stack = Stack(env="secrets", blueprint=None, target="local", program=lambda: _program(endpoint, SECRET))
    result = engine.up(stack)
    assert not result.failed, [s.error for s in result.steps if s.error]
    tags = client(endpoint, "s3").get_bucket_tagging(Bucket="mlp-secret-test")["TagSet"]
    assert {"Key": "token", "Value": SECRET} in tags  # the cloud gets the real value

    rendered = [
        result_text(result),
        outputs_text(engine.outputs("secrets")),
        json.dumps(outputs_json(engine.outputs("secrets"))),
        json.dumps(result.as_dict(), default=str),
    ]
    changed = Stack(env="secrets", blueprint=None, target="local", program=lambda: _program(endpoint, SECRET + "2"))
    plan = engine.preview(changed)
    rendered += [plan_text(plan, show_diff=True), json.dumps(plan.as_dict(), default=str)]
    for text in rendered:
        assert SECRET not in text
    assert "[secret]" in rendered[1]
    assert SECRET in outputs_text(engine.outputs("secrets"), show_secrets=True)  # only when asked

    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"plaintext secret in {path}"
    engine.destroy(stack)
