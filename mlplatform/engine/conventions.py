"""What an application tells an engine about its own resources: project name, component types and tags.

An engine runs any Pulumi program; it does not know that mlplatform names its component types
``mlplatform:<module>:<Name>`` or tags resources ``mlplatform:env``. The application hands it one
:class:`Conventions` (mlplatform's is :data:`mlplatform.app.conventions.CONVENTIONS`) saying

* which project name goes into every URN;
* how a resource maps to one of the application's components (a tag on the resource, else the outermost
  component type in its URN), for plans and their JSON;
* which tags identify an environment's resources in the cloud, so an engine can notice lost state and
  report what an import leaves unmanaged;
* under which stack config key the Pulumi engine records the blueprint a stack was deployed with, for the
  application's program when the plain Pulumi CLI runs the same stack;
* under which tag key the embedded engine may record a resource's URN on the resource (the application
  reserves the key, so no user tag overwrites it).

The defaults know nothing: no components, no tags (lost-state detection off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Conventions:
    """An application's naming and tagging rules, as an engine needs them.

    Attributes:
        project: the Pulumi project name in every URN (``urn:pulumi:<stack>::<project>::...``).
        component_type_prefix: type tokens of the application's component resources start with this
            (``mlplatform:``); a resource under such a component belongs to it.
        component_tag: the tag naming a resource's component, when the resource carries it.
        components: the application's component names; a blueprint change names only these (children
            without a tag map to their class name, which is not one).
        env_tag: the tag whose value is the environment's name on every resource the application creates;
            ``None``: resources cannot be found by environment.
        managed_by: a ``(key, value)`` tag every such resource carries too, or ``None``.
        blueprint_tag: the tag naming the blueprint a resource was deployed with, or ``None``.
        blueprint_config: the stack config key under which the Pulumi engine records, after each successful
            ``up``, the blueprint the stack was deployed with (the application's own program entry reads it when
            the plain Pulumi CLI runs the stack), or ``None``.
        urn_tag: the tag key under which the embedded engine records a resource's URN, in the create call, on
            resources AWS names itself (security groups, VPCs, KMS keys, topics, ...), so that a run
            interrupted after the create finds and adopts the resource instead of creating a second one.
            Changing it for an existing deployment loses that for resources created before.
    """

    project: str = "project"
    component_type_prefix: str | None = None
    component_tag: str | None = None
    components: frozenset[str] = frozenset()
    env_tag: str | None = None
    managed_by: tuple[str, str] | None = None
    blueprint_tag: str | None = None
    blueprint_config: str | None = None
    urn_tag: str = "urn"

    def component_of(self, urn: str, inputs: dict[str, Any] | None) -> str | None:
        """The component a resource belongs to: its component tag, else the top component type in its URN."""
        tags = (inputs or {}).get("tags")
        if self.component_tag and isinstance(tags, dict) and isinstance(tags.get(self.component_tag), str):
            return str(tags[self.component_tag])
        if not self.component_type_prefix:
            return None
        qualified = urn.split("::")[2] if urn.count("::") >= 3 else ""
        first = qualified.split("$")[0]
        if first.startswith(self.component_type_prefix):
            return first.rsplit(":", 1)[-1]
        return None

    def env_filters(self, env: str) -> dict[str, str] | None:
        """The tags (key -> value) every resource of ``env`` carries, or ``None`` when there are none to go by."""
        if self.env_tag is None:
            return None
        filters = {self.env_tag: env}
        if self.managed_by is not None:
            filters[self.managed_by[0]] = self.managed_by[1]
        return filters


NO_CONVENTIONS = Conventions()
"""Knows nothing about the program: no components, no tags (what a bare deployment uses in tests)."""
