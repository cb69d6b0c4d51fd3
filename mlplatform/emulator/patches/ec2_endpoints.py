"""Fixes for moto's gaps in EC2 VPC endpoints (settings ``ModifyVpcEndpoint`` drops).

A test named with no file is in tests/integration/test_emulator_patches.py.

- ``modify_vpc_endpoint_settings``: ``ModifyVpcEndpoint`` ignores ``PrivateDnsEnabled`` and ``ResetPolicy``.
  tests/integration/test_fidelity_ec2.py::test_modify_vpc_endpoint_settings_on_plain_moto
  tests/integration/test_fidelity_ec2.py::test_modify_vpc_endpoint_settings_through_the_emulator
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from mlplatform.emulator.patches.support import first_time, run_after


def modify_vpc_endpoint_settings() -> None:
    """EC2 ``ModifyVpcEndpoint`` answers success but drops ``PrivateDnsEnabled`` and ``ResetPolicy``.

    moto 5.2.5's handler passes only the policy document and the subnet, route table and security group changes
    to the backend, so turning an interface endpoint's private DNS on or off, or resetting its policy to the
    default full-access one (what the Terraform provider does when ``policy`` is removed), changes nothing.
    """
    from moto.ec2.models.vpcs import VPCEndPoint
    from moto.ec2.responses.vpcs import VPCs

    source = inspect.getsource(VPCs.modify_vpc_endpoint)
    if "PrivateDnsEnabled" in source or not first_time(VPCs, "_mlplatform_endpoint_settings"):
        return

    def keep(self: Any) -> None:
        endpoint_id = self._get_param("VpcEndpointId")
        endpoint = self.ec2_backend.vpc_end_points.get(endpoint_id)
        if endpoint is None:
            return
        private_dns = self._get_bool_param("PrivateDnsEnabled")
        if private_dns is not None:
            endpoint.private_dns_enabled = private_dns
        if self._get_bool_param("ResetPolicy"):
            endpoint.policy_document = json.dumps(VPCEndPoint.DEFAULT_POLICY)

    run_after(VPCs, "modify_vpc_endpoint", keep)
