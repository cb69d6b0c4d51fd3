"""Diff and apply: what the embedded engine does with each registration.

:class:`Deployment` (:mod:`.diff`) turns each registration into a change and, during ``up``, applies it
through :class:`~.apply.Applier` (:mod:`.apply`: steps, orphans and deletes along the graph);
:mod:`.ignore_changes` parses Pulumi's property paths for ``ignore_changes``. The names below are the
package's interface.
"""

from mlplatform.engine.embedded.deployment.apply import (
    COMPONENT_TAG,
    PROVIDER_PREFIX,
    Applier,
    Events,
    Journal,
    MissingHandlerError,
    ProtectedResourceError,
    Record,
    _no_events,
    component_of,
    dependents_of,
)
from mlplatform.engine.embedded.deployment.diff import Deployment, diff_keys, replace_reasons
from mlplatform.engine.embedded.monitor import dependencies_of

__all__ = [
    "COMPONENT_TAG",
    "PROVIDER_PREFIX",
    "Applier",
    "Deployment",
    "Events",
    "Journal",
    "MissingHandlerError",
    "ProtectedResourceError",
    "Record",
    "_no_events",
    "component_of",
    "dependencies_of",
    "dependents_of",
    "diff_keys",
    "replace_reasons",
]
