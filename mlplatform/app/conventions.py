"""mlplatform's conventions, as every engine is given them: project name, component types, tags.

The tag keys come from :mod:`mlplatform.spec.tagging` (what the components write) and the component
names from the spec, so the engine reads the same strings the program writes rather than a copy.
"""

from __future__ import annotations

from mlplatform.engine.conventions import Conventions
from mlplatform.spec import tagging
from mlplatform.spec.models import COMPONENTS

PROJECT = "mlplatform"
"""The Pulumi project name (``Pulumi.yaml``'s ``name``): the project in every URN."""

BLUEPRINT_CONFIG = "mlplatform:blueprint"
"""The stack config key naming a stack's blueprint: the project's ``__main__.py`` (a plain ``pulumi up``, see
:mod:`mlplatform.app.stack_program`) builds that blueprint, and the Pulumi engine records it there after each
``up``, so a plain run of a stack mlplatform deployed builds the platform it deployed."""

COMPONENT_TYPE_PREFIX = "mlplatform:"
"""Every component's type token is ``mlplatform:<module>:<Name>`` (``mlplatform:storage:ArtifactStore``)."""

CONVENTIONS = Conventions(
    project=PROJECT,
    component_type_prefix=COMPONENT_TYPE_PREFIX,
    component_tag=tagging.COMPONENT_KEY,
    components=frozenset(COMPONENTS),
    env_tag=tagging.ENV_KEY,
    managed_by=(tagging.MANAGED_BY_KEY, tagging.MANAGED_BY_VALUE),
    blueprint_tag=tagging.BLUEPRINT_KEY,
    blueprint_config=BLUEPRINT_CONFIG,
    urn_tag=tagging.URN_KEY,
)
"""How mlplatform's resources map to components and which tags identify an environment's resources."""
