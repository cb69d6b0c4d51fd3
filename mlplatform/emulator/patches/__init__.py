"""Every fix for moto's gaps, applied in one defined order inside the emulator's server process.

One module per AWS service (:mod:`.sagemaker`, :mod:`.sagemaker_monitoring`, :mod:`.sagemaker_fidelity`,
:mod:`.budgets`, :mod:`.applicationautoscaling`, :mod:`.codebuild`, :mod:`.s3`, :mod:`.glue`, :mod:`.ec2`,
:mod:`.ec2_endpoints`, :mod:`.iam`); each
module's docstring lists the gaps it closes and the test that shows each one on plain moto and fixed through
the emulator. :data:`PATCHES` is the order :func:`apply_patches` applies them in.

Each patch fills one gap of the pinned moto release (:data:`PATCHED_MOTO_VERSION`; pyproject pins
``moto[server]``) and only *adds* what moto lacks: when a newer moto implements the operation itself, moto's
version wins and the patch is a no-op (:func:`.support.add_operations` adds an operation only where moto has
none; a patch that wraps moto's code checks that moto still lacks the feature). Every patch is safe to apply
twice (:func:`.support.first_time`). Adding one: write a test that shows the gap on plain moto and the fix
through the emulator (tests/integration/test_emulator_patches.py), a function in the service's module (a new
module for a new service), list the gap and that test in the module's docstring, and append the function to
:data:`PATCHES` (tests/unit/test_emulator_package.py checks that registry and docstrings agree).

Nothing here imports moto at import time (each patch imports what it patches), so the server can import this
package before it forks.
"""

from __future__ import annotations

from collections.abc import Callable

from mlplatform.emulator.patches import (
    applicationautoscaling,
    budgets,
    codebuild,
    ec2,
    ec2_endpoints,
    glue,
    iam,
    s3,
    sagemaker,
    sagemaker_fidelity,
    sagemaker_monitoring,
)

# The moto release these patches were written against (what the tests show the gaps on).
PATCHED_MOTO_VERSION = "5.2.5"

# The order matters where two patches touch one moto class: ec2's prefix-list descriptions wrap the
# descriptions its group-rule patch installs. Everything else is independent; it is grouped by service.
PATCHES: tuple[Callable[[], None], ...] = (
    sagemaker.add_delete_model_package_group,
    sagemaker.fix_tags,
    sagemaker.add_feature_group_lifecycle,
    sagemaker.add_update_endpoint,
    sagemaker.add_notebook_instance_settings,
    sagemaker.add_update_domain,
    sagemaker.keep_model_network_isolation,
    sagemaker.fix_endpoint_config_arn,
    sagemaker.accept_instance_types_from_botocore,
    sagemaker_fidelity.add_update_feature_group,
    sagemaker_fidelity.keep_domain_settings_updates,
    sagemaker_monitoring.add_monitoring_schedules,
    budgets.add_subscribers_update_and_tags,
    applicationautoscaling.add_tags,
    codebuild.fix_projects,
    s3.return_eventbridge_notification,
    s3.fix_logging_permission_check,
    s3.evaluate_bucket_policy_conditions,
    glue.drop_database_tags_on_delete,
    ec2.describe_group_rule_descriptions,
    ec2.describe_prefix_list_rule_descriptions,
    ec2_endpoints.modify_vpc_endpoint_settings,
    iam.authorize_sagemaker_and_codebuild_by_resource,
)


def apply_patches() -> None:
    """Apply every patch in :data:`PATCHES` to moto's backends and responses in this process. Safe to call twice."""
    for patch in PATCHES:
        patch()
