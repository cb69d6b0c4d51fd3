"""Model Monitor's analyzer image per region: mlplatform's table against the sagemaker SDK's own.

``mlplatform.spec.images`` carries the account that publishes ``sagemaker-model-monitor-analyzer`` in each
region, copied from the SDK's ``image_uri_config/model-monitor.json`` (the SDK is too heavy to import on every
validate). This test holds the copy to the installed SDK: the same regions, and for each one the same image
URI as ``image_uris.retrieve("model-monitor", region)`` (account and partition domain). Run by
``scripts/sdk-check`` (see test_pipeline_sdk.py); skipped in the main environment.
"""

# mypy: disable-error-code="import-not-found, import-untyped"

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

if os.environ.get("MLPLATFORM_REQUIRE_SAGEMAKER") == "1":
    import sagemaker  # noqa: F401  (scripts/sdk-check: the SDK must be there)
else:
    pytest.importorskip("sagemaker", reason="the sagemaker SDK is an optional extra: scripts/sdk-check runs this")

from sagemaker.core import image_uris

from mlplatform.spec.images import MODEL_MONITOR_ACCOUNTS, model_monitor_image


def _sdk_registries() -> dict[str, str]:
    config = Path(image_uris.__file__).parent / "image_uri_config" / "model-monitor.json"
    document = json.loads(config.read_text(encoding="utf-8"))
    [version] = document["versions"].values()
    return dict(version["registries"])


def test_the_table_has_exactly_the_sdks_regions_and_accounts() -> None:
    assert _sdk_registries() == MODEL_MONITOR_ACCOUNTS


def test_every_region_gets_the_image_the_sdk_retrieves() -> None:
    for region in _sdk_registries():
        assert model_monitor_image(region) == image_uris.retrieve(framework="model-monitor", region=region), region
