"""Resource names -> URNs (``state show/rm``, ``destroy --target``) and recognising tagged resources."""

from __future__ import annotations

import pytest

from mlplatform.engine.embedded.discovery import deployed_blueprint, unaccounted
from mlplatform.engine.embedded.state import ResourceState
from mlplatform.engine.model import TaggedResource
from mlplatform.engine.targets import AmbiguousResourceError, UnknownResourceError, resolve_urns

P = "urn:pulumi:dev::mlplatform::"
BUCKET = f"{P}mlplatform:storage:ArtifactStore$aws:s3/bucket:Bucket::artifact-store-artifacts-bucket"
LOGS = f"{P}mlplatform:storage:ArtifactStore$aws:s3/bucket:Bucket::artifact-store-logs-bucket"
GROUP = f"{P}mlplatform:network:Network::network"
VPC = f"{P}mlplatform:network:Network$aws:ec2/vpc:Vpc::network"
URNS = [BUCKET, LOGS, GROUP, VPC]


def test_urn_name_and_type_name_resolve_in_the_order_given_each_once() -> None:
    assert resolve_urns([LOGS, "artifact-store-artifacts-bucket", LOGS], URNS, where="w") == [LOGS, BUCKET]
    assert resolve_urns(["aws:ec2/vpc:Vpc::network"], URNS, where="w") == [VPC]
    assert resolve_urns(["mlplatform:network:Network::network"], URNS, where="w") == [GROUP]


def test_unknown_names_are_all_named_with_suggestions() -> None:
    with pytest.raises(UnknownResourceError) as caught:
        resolve_urns(["artifact-bucket", "zzz"], URNS, where="the state of environment 'dev'", hint="look")
    assert caught.value.exit_code == 2 and caught.value.hint == "look"
    assert caught.value.message == (
        "no resources 'artifact-bucket' (did you mean 'artifact-store-logs-bucket' or "
        "'artifact-store-artifacts-bucket'?), 'zzz' in the state of environment 'dev'."
    )


def test_a_name_shared_by_two_resources_is_ambiguous_and_lists_both() -> None:
    with pytest.raises(AmbiguousResourceError) as caught:
        resolve_urns(["network"], URNS, where="w")
    assert caught.value.exit_code == 2
    assert caught.value.message == f"'network' matches 2 resources:\n  {GROUP}\n  {VPC}"
    assert caught.value.hint is not None and "<type>::<name>" in caught.value.hint


def test_tagged_resources_are_recognised_by_arn_id_or_physical_name() -> None:
    records = [
        ResourceState(
            urn="b", type="aws:s3/bucket:Bucket", id="mlp-dev-artifacts", outputs={"bucket": "mlp-dev-artifacts"}
        ),
        ResourceState(urn="v", type="aws:ec2/vpc:Vpc", id="vpc-1", outputs={"arn": "arn:aws:ec2:r:1:vpc/vpc-1"}),
        ResourceState(urn="l", type="aws:cloudwatch/logGroup:LogGroup", id="/mlplatform/x/flow"),
        ResourceState(urn="c", type="mlplatform:x:Y", id="vpc-2", custom=False),  # components are no match
    ]
    tagged = [
        TaggedResource("arn:aws:s3:::mlp-dev-artifacts"),
        TaggedResource("arn:aws:ec2:r:1:vpc/vpc-1"),
        TaggedResource("arn:aws:ec2:r:1:vpc/vpc-2", urn="urn:x::network-vpc"),  # a second copy
        TaggedResource("arn:aws:logs:r:1:log-group:/mlplatform/x/flow"),
        TaggedResource("arn:aws:s3:::mlp-dev-artifacts-old"),
    ]
    assert [r.arn for r in unaccounted(tagged, records)] == [
        "arn:aws:ec2:r:1:vpc/vpc-2",
        "arn:aws:s3:::mlp-dev-artifacts-old",
    ]
    assert tagged[2].label == "arn:aws:ec2:r:1:vpc/vpc-2 (network-vpc)"


def test_deployed_blueprint_is_the_most_common_tag() -> None:
    found = [TaggedResource("a", blueprint="level1"), TaggedResource("b", blueprint="level1"), TaggedResource("c")]
    assert deployed_blueprint([*found, TaggedResource("d", blueprint="level0")]) == "level1"
    assert deployed_blueprint([TaggedResource("c")]) is None
