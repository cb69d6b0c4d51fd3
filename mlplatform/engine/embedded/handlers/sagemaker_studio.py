"""SageMaker Studio domains and notebook instances: where data scientists work (the dev environment).

Both update in place through ``UpdateDomain``/``UpdateNotebookInstance`` (a notebook instance only while
stopped); the shared machinery is in ``sagemaker_common.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.handlers.common import (
    tag_list,
)
from mlplatform.engine.embedded.handlers.sagemaker_common import (
    WAIT_SECONDS,
    WAITER_DELAY,
    SageMakerHandler,
    arn_of,
    gone,
    list_tags,
    stale,
    sync_tags,
    wait_for,
)
from mlplatform.engine.embedded.handlers.shapes import request
from mlplatform.engine.embedded.handlers.waiting import wait_until


class NotebookInstanceHandler(SageMakerHandler):
    """A notebook instance; id = the name.

    Settings change through ``UpdateNotebookInstance``, which AWS accepts only on a stopped instance: like
    the Terraform provider, the handler stops it, updates it and starts it again. Network placement,
    encryption and the platform are ForceNew, and so is a smaller ``volumeSize`` (the EBS volume cannot shrink).
    The name is Pulumi's auto-name when the program sets none.
    """

    type = "aws:sagemaker/notebookInstance:NotebookInstance"
    name_key = "name"
    kind = "notebook-instance"
    describe_op = "describe_notebook_instance"
    delete_op = "delete_notebook_instance"
    name_param = "NotebookInstanceName"
    computed = ("arn", "url", "networkInterfaceId")
    fields = ("instanceType", "roleArn", "subnetId", "securityGroups", "kmsKeyId", "directInternetAccess",
              "rootAccess", "volumeSize", "platformIdentifier", "instanceMetadataServiceConfiguration",
              "lifecycleConfigName", "defaultCodeRepository", "additionalCodeRepositories")  # fmt: skip
    implemented = frozenset({"name", *fields})
    renames: ClassVar[dict[str, str]] = {
        "volumeSize": "VolumeSizeInGB",  # Terraform's volume_size
        # CreateNotebookInstance's SecurityGroupIds (DescribeNotebookInstance says SecurityGroups, by case).
        "securityGroups": "SecurityGroupIds",
        # DescribeNotebookInstance's name (Create and Update say LifecycleConfigName, by case).
        "lifecycleConfigName": "NotebookInstanceLifecycleConfigName",
    }
    # The inputs UpdateNotebookInstance can change; the rest are ForceNew (volumeSize only when it shrinks).
    _UPDATABLE = ("instanceType", "roleArn", "rootAccess", "volumeSize", "instanceMetadataServiceConfiguration",
                  "lifecycleConfigName", "defaultCodeRepository", "additionalCodeRepositories")  # fmt: skip
    _CLEARS: ClassVar[dict[str, str]] = {
        "lifecycleConfigName": "DisassociateLifecycleConfig",
        "defaultCodeRepository": "DisassociateDefaultCodeRepository",
        "additionalCodeRepositories": "DisassociateAdditionalCodeRepositories",
    }

    def _outputs_from(
        self, ctx: StepContext, name: str, inputs: dict[str, Any], described: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            **self._outputs(ctx, name, inputs),
            "url": described.get("Url", ""),
            "networkInterfaceId": described.get("NetworkInterfaceId", ""),
        }

    def _status(self, ctx: StepContext, name: str, *ready: str) -> dict[str, Any]:
        """Wait until the instance is in one of ``ready``; return it described."""
        described = wait_for(lambda: self.describe(ctx, name), "NotebookInstanceStatus", ready,
                          what=f"notebook instance {name}")  # fmt: skip
        assert described is not None
        return described

    def _until(self, ctx: StepContext, name: str, waiter: str, state: str) -> None:
        """Run botocore's notebook waiter ``waiter`` (``notebook_instance_stopped``)."""
        wait_until(ctx.aws.client("sagemaker"), waiter, what=f"notebook instance {name} to be {state}",
                   timeout=WAIT_SECONDS, delay=WAITER_DELAY, NotebookInstanceName=name)  # fmt: skip

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self._name(ctx, inputs)
        args: dict[str, Any] = {"NotebookInstanceName": name, "Tags": tag_list(self._create_tags(ctx, inputs))}
        args.update(self._request(ctx, "CreateNotebookInstance", inputs, self.fields))
        ctx.aws.client("sagemaker").create_notebook_instance(**args)
        self._until(ctx, name, "notebook_instance_in_service", "InService")
        return name, self._outputs_from(ctx, name, inputs, self.describe(ctx, name) or {})

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        sm = ctx.aws.client("sagemaker")
        described = self._status(ctx, resource_id, "InService", "Stopped")
        changed = stale(self._UPDATABLE, olds, news, self.live(ctx, described, news))
        if changed:
            was_running = described["NotebookInstanceStatus"] == "InService"
            if was_running:
                sm.stop_notebook_instance(NotebookInstanceName=resource_id)
                self._until(ctx, resource_id, "notebook_instance_stopped", "Stopped")
            args: dict[str, Any] = {"NotebookInstanceName": resource_id}
            clears = [key for key in changed if news.get(key) in (None, [], "") and key in self._CLEARS]
            args.update({self._CLEARS[key]: True for key in clears})
            args.update(self._request(ctx, "UpdateNotebookInstance", news, [k for k in changed if k not in clears]))
            sm.update_notebook_instance(**args)
            self._until(ctx, resource_id, "notebook_instance_stopped", "Stopped")
            if was_running:
                sm.start_notebook_instance(NotebookInstanceName=resource_id)
                self._until(ctx, resource_id, "notebook_instance_in_service", "InService")
        sync_tags(ctx, arn_of(ctx, self.kind, resource_id), olds, news)
        return {**outputs, **self._outputs(ctx, resource_id, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        # AWS deletes only a stopped (or failed) instance.
        sm = ctx.aws.client("sagemaker")
        described = self.describe(ctx, resource_id)
        if described is None:
            return
        status = described.get("NotebookInstanceStatus")
        if status not in ("Stopped", "Failed", "Deleting"):
            described = self._status(ctx, resource_id, "InService", "Stopped", "Failed")
            if described["NotebookInstanceStatus"] == "InService":
                sm.stop_notebook_instance(NotebookInstanceName=resource_id)
                self._until(ctx, resource_id, "notebook_instance_stopped", "Stopped")
        if status != "Deleting":
            super().delete(ctx, resource_id, inputs, outputs)
        self._until(ctx, resource_id, "notebook_instance_deleted", "deleted")

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = inputs.get("name")
        if not name:
            found = super().find(ctx, inputs)  # auto-named: the instance this URN created carries the URN tag
            if found is None:
                return None
            name = found[0]
        described = self.describe(ctx, str(name))
        if described is None:
            return None
        return str(name), self._outputs_from(ctx, str(name), inputs, described)


class DomainHandler(SageMakerHandler):
    """A SageMaker Studio domain; id = the domain id (``d-...``), as the Terraform provider uses.

    ``retentionPolicy`` is not a property of the domain: it is what ``DeleteDomain`` does with the users'
    home EFS file system, so it is only sent on delete (the provider makes a change of it a replacement).
    The settings, network access type, security-group management and tag propagation update in place
    through ``UpdateDomain``.
    """

    type = "aws:sagemaker/domain:Domain"
    name_key = "domainName"
    kind = "domain"
    describe_op = "describe_domain"
    delete_op = "delete_domain"
    name_param = "DomainId"
    computed = ("arn", "url", "homeEfsFileSystemId", "securityGroupIdForDomainBoundary")
    fields = ("domainName", "authMode", "vpcId", "subnetIds", "appNetworkAccessType", "appSecurityGroupManagement",
              "kmsKeyId", "defaultUserSettings", "defaultSpaceSettings", "domainSettings",
              "tagPropagation")  # fmt: skip
    # What UpdateDomain changes in place, as the provider sends it; the rest (and domainSettings.securityGroupIds,
    # retentionPolicy) force a replacement.
    _UPDATABLE = ("defaultUserSettings", "defaultSpaceSettings", "appNetworkAccessType", "appSecurityGroupManagement",
                  "domainSettings", "tagPropagation")  # fmt: skip
    # UpdateDomain takes the domain settings as DomainSettingsForUpdate (RStudio's as ...ForUpdate).
    _UPDATE_RENAMES: ClassVar[dict[str, str]] = {
        "domainSettings": "DomainSettingsForUpdate",
        "domainSettings.rStudioServerProDomainSettings": "RStudioServerProDomainSettingsForUpdate",
    }
    implemented = frozenset({*fields, "retentionPolicy"})

    def _domain_outputs(self, described: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "domainName": described.get("DomainName"),
            "arn": described["DomainArn"],
            "url": described.get("Url", ""),
            "homeEfsFileSystemId": described.get("HomeEfsFileSystemId", ""),
            "securityGroupIdForDomainBoundary": described.get("SecurityGroupIdForDomainBoundary", ""),
            "singleSignOnManagedApplicationInstanceId": described.get("SingleSignOnManagedApplicationInstanceId", ""),
            "singleSignOnApplicationArn": described.get("SingleSignOnApplicationArn", ""),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def _ready(self, ctx: StepContext, domain_id: str) -> dict[str, Any]:
        described = wait_for(lambda: self.describe(ctx, domain_id), "Status", ("InService",),
                          ("Failed", "Update_Failed", "Delete_Failed"), what=f"domain {domain_id}")  # fmt: skip
        assert described is not None
        return described

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        args: dict[str, Any] = {"Tags": tag_list(inputs.get("tags"))}
        args.update(self._request(ctx, "CreateDomain", inputs, self.fields))
        arn = ctx.aws.client("sagemaker").create_domain(**args)["DomainArn"]
        domain_id = arn.rsplit("/", 1)[-1]
        return domain_id, self._domain_outputs(self._ready(ctx, domain_id), inputs)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        described = self.describe(ctx, resource_id)
        if described is None or described.get("Status") == "Deleting":
            return None
        live = self.live(ctx, described, inputs)
        if "tags" in inputs:
            live["tags"] = list_tags(ctx, described["DomainArn"])
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        sm = ctx.aws.client("sagemaker")
        args: dict[str, Any] = {"DomainId": resource_id}
        live = self.live(ctx, self.describe(ctx, resource_id) or {}, news)
        changed = {key: news[key] for key in stale(self._UPDATABLE, olds, news, live) if key in news}
        args.update(request(sm, "UpdateDomain", changed, self._UPDATE_RENAMES))
        if len(args) > 1:
            sm.update_domain(**args)
            self._ready(ctx, resource_id)
        sync_tags(ctx, arn_of(ctx, self.kind, resource_id), olds, news)
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        policy = (inputs.get("retentionPolicy") or {}).get("homeEfsFileSystem") or "Retain"
        try:
            ctx.aws.client("sagemaker").delete_domain(
                DomainId=resource_id, RetentionPolicy={"HomeEfsFileSystem": policy}
            )
        except Exception as exc:
            if not gone(exc):
                raise
        wait_for(lambda: self.describe(ctx, resource_id), "Status", (), ("Delete_Failed",),
              what=f"domain {resource_id}")  # fmt: skip

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        sm = ctx.aws.client("sagemaker")
        for page in sm.get_paginator("list_domains").paginate():
            for domain in page.get("Domains", []):
                if domain.get("DomainName") == inputs.get("domainName") and domain.get("Status") != "Deleting":
                    described = self.describe(ctx, domain["DomainId"])
                    if described is not None:
                        return domain["DomainId"], self._domain_outputs(described, inputs)
        return None


HANDLERS: tuple[type[Handler], ...] = (DomainHandler, NotebookInstanceHandler)
