"""IAM: roles, their inline policies, and OpenID Connect providers.

IAM returns policy documents URL-encoded; botocore decodes them into dicts, and AWS (or the emulator)
may reorder keys or turn one-element lists into scalars. Every read therefore compares documents with
:func:`equivalent_policy` (the same idea as Terraform's ``awspolicyequivalence``) and reports the recorded
input text when they are equivalent, so a reformatted policy is never drift.
"""

from __future__ import annotations

import json
from typing import Any

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import (
    error_code,
    is_not_found,
    physical_name,
    retag,
    tag_list,
)
from mlplatform.engine.embedded.handlers.shapes import request

# Terraform's names for the role's name and trust policy; the other CreateRole inputs are the API's by case
# (shapes.py also makes maxSessionDuration, a float in Pulumi, the integer the API wants).
_ROLE_RENAMES = {"name": "RoleName", "assumeRolePolicy": "AssumeRolePolicyDocument"}
_LISTY = ("Action", "NotAction", "Resource", "NotResource")


def _as_document(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _sorted_list(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _normal_principal(value: Any) -> Any:
    if value == "*" or value == {"AWS": "*"}:
        return "*"
    if isinstance(value, dict):
        return {key: _sorted_list(item) for key, item in value.items()}
    return value


def _normal_statement(statement: Any) -> Any:
    if not isinstance(statement, dict):
        return statement
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key in _LISTY:
            out[key] = _sorted_list(value)
        elif key in ("Principal", "NotPrincipal"):
            out[key] = _normal_principal(value)
        elif key == "Condition" and isinstance(value, dict):
            out[key] = {
                op: {k: _sorted_list(v) for k, v in (block or {}).items()} if isinstance(block, dict) else block
                for op, block in value.items()
            }
        elif key == "Sid" and value == "":
            continue  # an empty Sid and no Sid are the same statement
        else:
            out[key] = value
    return out


def normal_policy(value: Any) -> Any:
    """A policy document in a canonical form: statements and list-valued fields order-insensitive."""
    doc = _as_document(value)
    if not isinstance(doc, dict):
        return doc
    out = dict(doc)
    if "Statement" in out:
        statements = out["Statement"] if isinstance(out["Statement"], list) else [out["Statement"]]
        out["Statement"] = _sorted_list([_normal_statement(s) for s in statements])
    return out


def equivalent_policy(a: Any, b: Any) -> bool:
    """Whether two policies (JSON text or parsed) grant the same thing, ignoring formatting and order."""
    return bool(normal_policy(a) == normal_policy(b))


def live_policy(live: Any, wanted: Any) -> Any:
    """The recorded input text when the live document is equivalent, else the live document as JSON text."""
    if equivalent_policy(live, wanted):
        return wanted
    return live if isinstance(live, str) else json.dumps(live)


def _role_outputs(role: dict[str, Any], tags: dict[str, str] | None) -> dict[str, Any]:
    created: Any = role.get("CreateDate")
    return {
        "arn": role["Arn"],
        "name": role["RoleName"],
        "uniqueId": role.get("RoleId", ""),
        "createDate": created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        "path": role.get("Path", "/"),
        "maxSessionDuration": role.get("MaxSessionDuration") or 3600,
        "tagsAll": dict(tags or {}),
    }


class RoleHandler(Handler):
    """``aws:iam/role:Role``; the id is the role name (as in the Terraform provider)."""

    type = "aws:iam/role:Role"
    service = "iam"
    name_key = "name"
    computed = ("arn", "name", "uniqueId", "createDate")
    # The deprecated in-role policy arguments (inlinePolicies, managedPolicyArns) are not implemented: they are
    # refused (use RolePolicy / RolePolicyAttachment resources). forceDetachPolicies acts on delete.
    implemented = frozenset(
        {
            "assumeRolePolicy",
            "description",
            "forceDetachPolicies",
            "maxSessionDuration",
            "name",
            "namePrefix",
            "path",
            "permissionsBoundary",
        }
    )

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        iam = ctx.aws.client("iam")
        name = physical_name(inputs, ctx.name, max_length=64)
        sent = {key: inputs.get(key) or None for key in ("description", "maxSessionDuration", "permissionsBoundary")}
        args = request(
            iam,
            "CreateRole",
            {
                **sent,
                "name": name,
                "assumeRolePolicy": _text(inputs["assumeRolePolicy"]),
                "path": inputs.get("path") or "/",
            },
            _ROLE_RENAMES,
        )
        if inputs.get("tags"):
            args["Tags"] = tag_list(inputs["tags"])
        role = iam.create_role(**args)["Role"]
        return name, _role_outputs(role, inputs.get("tags"))

    def _get(self, ctx: StepContext, name: str) -> dict[str, Any] | None:
        try:
            return dict(ctx.aws.client("iam").get_role(RoleName=name)["Role"])
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        role = self._get(ctx, resource_id)
        if role is None:
            return None
        live: dict[str, Any] = {
            "assumeRolePolicy": live_policy(role.get("AssumeRolePolicyDocument"), inputs.get("assumeRolePolicy")),
        }
        if "name" in inputs:
            live["name"] = role["RoleName"]  # identity keys too, so an adopted role is not "renamed"
        # Keys the inputs leave out are reported only when they moved off their default, so setting e.g.
        # a description outside mlplatform is drift but an untouched default is not.
        observed = {
            "description": (role.get("Description") or "", ""),
            "maxSessionDuration": (role.get("MaxSessionDuration") or 3600, 3600),
            "path": (role.get("Path") or "/", "/"),
            "permissionsBoundary": ((role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"), None),
            "tags": (ctx.read_tags(role.get("Tags")), {}),
        }
        for key, (value, default) in observed.items():
            if key in inputs or value != default:
                live[key] = value
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        iam = ctx.aws.client("iam")
        if not equivalent_policy(olds.get("assumeRolePolicy"), news.get("assumeRolePolicy")):
            iam.update_assume_role_policy(RoleName=resource_id, PolicyDocument=_text(news["assumeRolePolicy"]))
        if (olds.get("description") or "") != (news.get("description") or ""):
            iam.update_role_description(RoleName=resource_id, Description=news.get("description") or "")
        if (olds.get("maxSessionDuration") or 3600) != (news.get("maxSessionDuration") or 3600):
            duration = {"maxSessionDuration": news.get("maxSessionDuration") or 3600}
            iam.update_role(RoleName=resource_id, **request(iam, "UpdateRole", duration))
        if olds.get("permissionsBoundary") != news.get("permissionsBoundary"):
            if news.get("permissionsBoundary"):
                iam.put_role_permissions_boundary(RoleName=resource_id, PermissionsBoundary=news["permissionsBoundary"])
            else:
                iam.delete_role_permissions_boundary(RoleName=resource_id)
        new_tags = news.get("tags") or {}
        retag(
            olds.get("tags"),
            new_tags,
            untag=lambda keys: iam.untag_role(RoleName=resource_id, TagKeys=keys),
            tag=lambda tags: iam.tag_role(RoleName=resource_id, Tags=tag_list(tags)),
        )
        role = self._get(ctx, resource_id)
        return _role_outputs(role, new_tags) if role else {**outputs, "tagsAll": dict(new_tags)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        iam = ctx.aws.client("iam")
        try:
            # Like the Terraform provider: always leave instance profiles; strip policies only when asked
            # (forceDetachPolicies) — policies managed as their own resources are deleted before the role.
            for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=resource_id):
                for profile in page.get("InstanceProfiles", []):
                    iam.remove_role_from_instance_profile(
                        InstanceProfileName=profile["InstanceProfileName"], RoleName=resource_id
                    )
            if inputs.get("forceDetachPolicies"):
                for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=resource_id):
                    for policy in page.get("AttachedPolicies", []):
                        iam.detach_role_policy(RoleName=resource_id, PolicyArn=policy["PolicyArn"])
                for page in iam.get_paginator("list_role_policies").paginate(RoleName=resource_id):
                    for policy_name in page.get("PolicyNames", []):
                        iam.delete_role_policy(RoleName=resource_id, PolicyName=policy_name)
            iam.delete_role(RoleName=resource_id)
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = inputs.get("name")
        role = self._get(ctx, name) if name else None
        if role is None:
            return None
        return role["RoleName"], _role_outputs(role, inputs.get("tags"))


def _text(policy: Any) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy)


class RolePolicyHandler(Handler):
    """``aws:iam/rolePolicy:RolePolicy``; the id is ``role:name`` (as in the Terraform provider)."""

    type = "aws:iam/rolePolicy:RolePolicy"
    service = "iam"
    name_key = "name"
    computed = ("name",)
    implemented = frozenset({"name", "namePrefix", "policy", "role"})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = physical_name(inputs, ctx.name, max_length=128)
        ctx.aws.client("iam").put_role_policy(
            RoleName=inputs["role"], PolicyName=name, PolicyDocument=_text(inputs["policy"])
        )
        return f"{inputs['role']}:{name}", {"name": name}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        role, _, name = resource_id.partition(":")
        try:
            document = ctx.aws.client("iam").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return {"policy": live_policy(document, inputs.get("policy"))}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        role, _, name = resource_id.partition(":")
        ctx.aws.client("iam").put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=_text(news["policy"]))
        return {"name": name}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        role, _, name = resource_id.partition(":")
        try:
            ctx.aws.client("iam").delete_role_policy(RoleName=role, PolicyName=name)
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if not inputs.get("name"):
            return None  # an auto-named policy cannot be told apart from the role's other policies
        resource_id = f"{inputs['role']}:{inputs['name']}"
        return (resource_id, {"name": inputs["name"]}) if self.read(ctx, resource_id, inputs) is not None else None


def _strip_scheme(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


class OpenIdConnectProviderHandler(Handler):
    """``aws:iam/openIdConnectProvider:OpenIdConnectProvider``; the id is the provider's ARN."""

    type = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    service = "iam"
    computed = ("arn",)
    implemented = frozenset({"clientIdLists", "thumbprintLists", "url"})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        args: dict[str, Any] = {"Url": inputs["url"], "ClientIDList": list(inputs.get("clientIdLists") or [])}
        if inputs.get("thumbprintLists"):
            args["ThumbprintList"] = list(inputs["thumbprintLists"])
        if inputs.get("tags"):
            args["Tags"] = tag_list(inputs["tags"])
        try:
            arn = ctx.aws.client("iam").create_open_id_connect_provider(**args)["OpenIDConnectProviderArn"]
        except Exception as exc:
            if error_code(exc) != "EntityAlreadyExists":
                raise
            # An account has one provider per URL; the emulator's own message is just "Unknown".
            existing = f"arn:{ctx.aws.partition}:iam::{ctx.aws.account_id}:oidc-provider/{_strip_scheme(args['Url'])}"
            raise HandlerError(
                f"the account already has an OpenID Connect provider for {args['Url']} ({existing}), created by "
                "another stack: an account has one per URL. Trust the existing one instead of creating it (a "
                "github-oidc environment: set cicd.github_oidc_provider_arn to that ARN)."
            ) from exc
        return arn, {"arn": arn, "tagsAll": dict(inputs.get("tags") or {})}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        iam = ctx.aws.client("iam")
        try:
            provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=resource_id)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        live: dict[str, Any] = {}
        wanted_url = str(inputs.get("url", ""))
        # AWS returns the URL without its scheme; Terraform suppresses that difference too.
        url = str(provider.get("Url", ""))
        live["url"] = wanted_url if _strip_scheme(url) == _strip_scheme(wanted_url) else url
        client_ids = list(provider.get("ClientIDList") or [])
        wanted_ids = list(inputs.get("clientIdLists") or [])
        live["clientIdLists"] = inputs.get("clientIdLists") if sorted(client_ids) == sorted(wanted_ids) else client_ids
        if "thumbprintLists" in inputs:
            live["thumbprintLists"] = list(provider.get("ThumbprintList") or [])
        tags = ctx.read_tags(provider.get("Tags"))
        if "tags" in inputs or tags:
            live["tags"] = tags
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        iam = ctx.aws.client("iam")
        new_thumbs = list(news.get("thumbprintLists") or [])
        # The API refuses an empty thumbprint list on update (Terraform skips it the same way).
        if new_thumbs and list(olds.get("thumbprintLists") or []) != new_thumbs:
            iam.update_open_id_connect_provider_thumbprint(
                OpenIDConnectProviderArn=resource_id, ThumbprintList=new_thumbs
            )
        old_ids, new_ids = set(olds.get("clientIdLists") or []), set(news.get("clientIdLists") or [])
        for client_id in sorted(new_ids - old_ids):
            iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=resource_id, ClientID=client_id)
        for client_id in sorted(old_ids - new_ids):
            iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=resource_id, ClientID=client_id)
        retag(
            olds.get("tags"),
            news.get("tags"),
            untag=lambda keys: iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=resource_id, TagKeys=keys),
            tag=lambda tags: iam.tag_open_id_connect_provider(
                OpenIDConnectProviderArn=resource_id, Tags=tag_list(tags)
            ),
        )
        return {"arn": resource_id, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("iam").delete_open_id_connect_provider(OpenIDConnectProviderArn=resource_id)
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        # The ARN is determined by the URL (one provider per URL per account).
        arn = f"arn:{ctx.aws.partition}:iam::{ctx.aws.account_id}:oidc-provider/{_strip_scheme(str(inputs['url']))}"
        if self.read(ctx, arn, inputs) is None:
            return None
        return arn, {"arn": arn, "tagsAll": dict(inputs.get("tags") or {})}


HANDLERS: tuple[type[Handler], ...] = (RoleHandler, RolePolicyHandler, OpenIdConnectProviderHandler)
