"""The tag keys mlplatform writes itself, in one place.

Components tag every taggable resource with :data:`PLATFORM_KEYS`; network resources also get a ``Name`` (what
the EC2 console shows); the embedded engine adds :data:`URN_KEY` (given to it as ``Conventions.urn_tag``) to
resources it can only find again by tag (EC2, SNS, KMS, ...). The spec refuses user tags that would collide
with any of these (they would be silently overwritten) and counts them against AWS's limit of tags per
resource, so both read this module rather than a copy of its strings.
"""

from __future__ import annotations

ENV_KEY = "mlplatform:env"
BLUEPRINT_KEY = "mlplatform:blueprint"
COMPONENT_KEY = "mlplatform:component"
MANAGED_BY_KEY = "managed-by"
MANAGED_BY_VALUE = "mlplatform"
NAME_KEY = "Name"
URN_KEY = "mlplatform:urn"

RESERVED_PREFIX = "mlplatform:"
"""Keys under this prefix belong to mlplatform, today's and tomorrow's."""

PLATFORM_KEYS: tuple[str, ...] = (ENV_KEY, BLUEPRINT_KEY, COMPONENT_KEY, MANAGED_BY_KEY)
"""On every taggable resource."""

OWN_KEYS: tuple[str, ...] = (*PLATFORM_KEYS, NAME_KEY, URN_KEY)
"""Every key mlplatform may put on one resource (a VPC carries all of them)."""

AWS_TAGS_PER_RESOURCE = 50
"""AWS's limit, for the docs; validation reads it from botocore's model (a test keeps the two equal)."""
