"""An endpoint that does not answer is one clear error saying how to start the emulator, not a traceback
per resource."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.errors import MlplatformError
from tests.integration.harness import deploy, free_port, provider

pytestmark = pytest.mark.integration


def test_unreachable_endpoint_is_one_clear_error() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens here

    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider(closed))
        aws.s3.Bucket("bucket", bucket="mlp-unreachable-test", opts=opts)

    with pytest.raises(MlplatformError) as caught:
        deploy(program)
    message = f"{caught.value} {getattr(caught.value, 'hint', '')}"
    assert "mlplatform emulator start" in message, message
    assert "127.0.0.1" in message
