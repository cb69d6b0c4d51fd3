"""IAM access control: moto checks SageMaker and CodeBuild requests against ``*``, not the resource they name.

- ``authorize_sagemaker_and_codebuild_by_resource``: a policy scoped to ``endpoint/<name>`` or
  ``project/<name>`` never matches, so every resource-scoped permission is denied.
  tests/integration/test_cicd_roles.py::test_plain_moto_denies_every_resource_scoped_sagemaker_permission
"""

from __future__ import annotations

from typing import Any

from mlplatform.emulator.patches.support import add_missing


def authorize_sagemaker_and_codebuild_by_resource() -> None:
    """IAM access control: SageMaker and CodeBuild requests are checked against the resource they name.

    moto enforces IAM policies when its access control is on (``INITIAL_NO_AUTH_ACTION_COUNT``, or
    ``POST /moto-api/reset-auth``), but moto 5.2.5 checks a request against the resource ``*`` unless the
    service's response class defines ``_determine_resource`` (only IAM, STS and SQS do). A policy that
    scopes ``sagemaker:UpdateEndpoint`` to ``endpoint/<name>`` then never matches: every resource-scoped
    permission is denied and only ``"Resource": "*"`` is allowed, the opposite of AWS. This names the
    resource as AWS's authorization does, for the requests whose resource the name identifies:

    - SageMaker ``<Verb><Noun>`` operations that carry ``<Noun>Name`` (``UpdateEndpoint`` +
      ``EndpointName`` -> ``arn:…:endpoint/<name>``, lowercased as SageMaker's ARNs are);
    - CodeBuild operations that carry ``projectName`` (``StartBuild``) -> ``arn:…:project/<name>``.

    Anything else keeps moto's ``*``. Without access control on (the emulator's default) moto ignores the
    resource, so nothing changes for ordinary use. Shown by tests/integration/test_cicd_roles.py.
    """
    import re

    from moto.codebuild.responses import CodeBuildResponse
    from moto.sagemaker.responses import SageMakerResponse

    verbs = re.compile(r"^(Create|Describe|Update|Delete|Start|Stop|List|Get|Put|Add|Search)(?P<noun>[A-Za-z]+)$")

    def sagemaker_resource(self: Any) -> str:
        match = verbs.match(self._get_action())
        name = self._get_param(f"{match.group('noun')}Name") if match else None
        if not isinstance(name, str) or not name:
            return "*"
        if name.startswith("arn:"):
            return name
        kind = re.sub(r"(?<!^)(?=[A-Z])", "-", match.group("noun")).lower() if match else ""
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.current_account}:{kind}/{name.lower()}"

    def codebuild_resource(self: Any) -> str:
        name = self._get_param("projectName")
        if not isinstance(name, str) or not name:
            return "*"
        if name.startswith("arn:"):
            return name
        return f"arn:{self.partition}:codebuild:{self.region}:{self.current_account}:project/{name}"

    add_missing(SageMakerResponse, _determine_resource=sagemaker_resource)
    add_missing(CodeBuildResponse, _determine_resource=codebuild_resource)
