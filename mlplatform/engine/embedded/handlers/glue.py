"""Glue Data Catalog: databases and the catalog's encryption settings (pulumi-aws v7)."""

from __future__ import annotations

from typing import Any

from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.handlers.common import auto_name, is_not_found, retag


def _split_id(resource_id: str) -> tuple[str, str]:
    catalog, _, name = resource_id.partition(":")
    return catalog, name


class CatalogDatabaseHandler(Handler):
    """``aws.glue.CatalogDatabase``; the id is ``<catalogId>:<name>``, as in the Terraform provider."""

    type = "aws:glue/catalogDatabase:CatalogDatabase"
    service = "glue"
    name_key = "name"
    computed = ("arn", "name", "catalogId")
    # Not implemented (refused when set): targetDatabase, federatedDatabase, createTableDefaultPermissions.
    implemented = frozenset({"catalogId", "description", "locationUri", "name", "parameters"})

    def _outputs(self, ctx: StepContext, catalog: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": f"arn:{ctx.aws.partition}:glue:{ctx.aws.region}:{catalog}:database/{name}",
            "name": name,
            "catalogId": catalog,
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    @staticmethod
    def _database_input(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        database: dict[str, Any] = {"Name": name}
        if inputs.get("description") is not None:
            database["Description"] = inputs["description"]
        if inputs.get("locationUri"):
            database["LocationUri"] = inputs["locationUri"]
        if inputs.get("parameters"):
            database["Parameters"] = dict(inputs["parameters"])
        return database

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        # Glue lower-cases database names; auto-names are lower-case from the start so the id is stable.
        name = inputs.get("name") or auto_name(ctx.name, max_length=255)
        catalog = str(inputs.get("catalogId") or ctx.aws.account_id)
        args: dict[str, Any] = {"CatalogId": catalog, "DatabaseInput": self._database_input(name, inputs)}
        if inputs.get("tags"):
            args["Tags"] = dict(inputs["tags"])
        ctx.aws.client("glue").create_database(**args)
        return f"{catalog}:{name}", self._outputs(ctx, catalog, name, inputs)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        glue = ctx.aws.client("glue")
        catalog, name = _split_id(resource_id)
        try:
            database = glue.get_database(CatalogId=catalog, Name=name)["Database"]
        except Exception as exc:
            if is_not_found(exc, "EntityNotFoundException"):
                return None
            raise
        live: dict[str, Any] = {}
        if "description" in inputs:
            live["description"] = database.get("Description", "")
        if "locationUri" in inputs:
            live["locationUri"] = database.get("LocationUri", "")
        if "parameters" in inputs:
            live["parameters"] = dict(database.get("Parameters") or {})
        if "tags" in inputs:
            arn = self._outputs(ctx, catalog, name, inputs)["arn"]
            live["tags"] = dict(glue.get_tags(ResourceArn=arn).get("Tags") or {})
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        glue = ctx.aws.client("glue")
        catalog, name = _split_id(resource_id)
        live = self.read(ctx, resource_id, {**news, "tags": None}) or {}
        managed = ("description", "locationUri", "parameters")
        if any(key in news and live.get(key) != news.get(key) for key in managed) or any(
            key in olds and key not in news for key in managed
        ):
            glue.update_database(CatalogId=catalog, Name=name, DatabaseInput=self._database_input(name, news))
        arn = self._outputs(ctx, catalog, name, news)["arn"]
        retag(
            live.get("tags"),
            news.get("tags"),
            untag=lambda keys: glue.untag_resource(ResourceArn=arn, TagsToRemove=keys),
            tag=lambda tags: glue.tag_resource(ResourceArn=arn, TagsToAdd=tags),
        )
        return {**outputs, **self._outputs(ctx, catalog, name, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        catalog, name = _split_id(resource_id)
        try:
            ctx.aws.client("glue").delete_database(CatalogId=catalog, Name=name)
        except Exception as exc:
            if not is_not_found(exc, "EntityNotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if not inputs.get("name"):
            return None  # an auto-named database cannot be told apart from others (Glue has no tag filter)
        catalog = str(inputs.get("catalogId") or ctx.aws.account_id)
        resource_id = f"{catalog}:{inputs['name']}"
        if self.read(ctx, resource_id, {}) is None:
            return None
        return resource_id, self._outputs(ctx, catalog, inputs["name"], inputs)


class DataCatalogEncryptionSettingsHandler(Handler):
    """``aws.glue.DataCatalogEncryptionSettings``: one per catalog, so the id is the catalog (account) id.

    Delete does not remove anything (the settings always exist); like the Terraform provider it puts
    the catalog back to unencrypted with connection passwords returned in clear.
    """

    type = "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings"
    service = "glue"
    computed = ()
    implemented = frozenset({"catalogId", "dataCatalogEncryptionSettings"})

    @staticmethod
    def _request(settings: dict[str, Any]) -> dict[str, Any]:
        at_rest = settings.get("encryptionAtRest") or {}
        passwords = settings.get("connectionPasswordEncryption") or {}
        rest: dict[str, Any] = {"CatalogEncryptionMode": at_rest.get("catalogEncryptionMode", "DISABLED")}
        if at_rest.get("sseAwsKmsKeyId"):
            rest["SseAwsKmsKeyId"] = at_rest["sseAwsKmsKeyId"]
        if at_rest.get("catalogEncryptionServiceRole"):
            rest["CatalogEncryptionServiceRole"] = at_rest["catalogEncryptionServiceRole"]
        password: dict[str, Any] = {
            "ReturnConnectionPasswordEncrypted": bool(passwords.get("returnConnectionPasswordEncrypted", False))
        }
        if passwords.get("awsKmsKeyId"):
            password["AwsKmsKeyId"] = passwords["awsKmsKeyId"]
        return {"EncryptionAtRest": rest, "ConnectionPasswordEncryption": password}

    def _put(self, ctx: StepContext, catalog: str, settings: dict[str, Any]) -> None:
        ctx.aws.client("glue").put_data_catalog_encryption_settings(
            CatalogId=catalog, DataCatalogEncryptionSettings=self._request(settings)
        )

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        catalog = str(inputs.get("catalogId") or ctx.aws.account_id)
        self._put(ctx, catalog, inputs.get("dataCatalogEncryptionSettings") or {})
        return catalog, {"catalogId": catalog}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        live = ctx.aws.client("glue").get_data_catalog_encryption_settings(CatalogId=resource_id)
        live = live.get("DataCatalogEncryptionSettings") or {}
        wanted = inputs.get("dataCatalogEncryptionSettings") or {}
        # Compare in the API's shape (defaults filled in); report the recorded inputs when they agree.
        at_rest = live.get("EncryptionAtRest") or {}
        passwords = live.get("ConnectionPasswordEncryption") or {}
        current = {
            "EncryptionAtRest": {k: v for k, v in at_rest.items() if v not in (None, "")},
            "ConnectionPasswordEncryption": {
                "ReturnConnectionPasswordEncrypted": bool(passwords.get("ReturnConnectionPasswordEncrypted", False)),
                **({"AwsKmsKeyId": passwords["AwsKmsKeyId"]} if passwords.get("AwsKmsKeyId") else {}),
            },
        }
        if current == self._request(wanted):
            return {"dataCatalogEncryptionSettings": wanted}
        shown_rest: dict[str, Any] = {"catalogEncryptionMode": at_rest.get("CatalogEncryptionMode", "DISABLED")}
        if at_rest.get("SseAwsKmsKeyId"):
            shown_rest["sseAwsKmsKeyId"] = at_rest["SseAwsKmsKeyId"]
        if at_rest.get("CatalogEncryptionServiceRole"):
            shown_rest["catalogEncryptionServiceRole"] = at_rest["CatalogEncryptionServiceRole"]
        shown_passwords: dict[str, Any] = {
            "returnConnectionPasswordEncrypted": current["ConnectionPasswordEncryption"][
                "ReturnConnectionPasswordEncrypted"
            ]
        }
        if passwords.get("AwsKmsKeyId"):
            shown_passwords["awsKmsKeyId"] = passwords["AwsKmsKeyId"]
        return {
            "dataCatalogEncryptionSettings": {
                "encryptionAtRest": shown_rest,
                "connectionPasswordEncryption": shown_passwords,
            }
        }

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        self._put(ctx, resource_id, news.get("dataCatalogEncryptionSettings") or {})
        return dict(outputs)

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        self._put(ctx, resource_id, {})

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        # The settings always exist for the account's catalog; they count as found once encryption is on.
        catalog = str(inputs.get("catalogId") or ctx.aws.account_id)
        live = ctx.aws.client("glue").get_data_catalog_encryption_settings(CatalogId=catalog)
        at_rest = (live.get("DataCatalogEncryptionSettings") or {}).get("EncryptionAtRest") or {}
        if at_rest.get("CatalogEncryptionMode", "DISABLED") == "DISABLED":
            return None
        return catalog, {"catalogId": catalog}


HANDLERS: tuple[type[Handler], ...] = (CatalogDatabaseHandler, DataCatalogEncryptionSettingsHandler)
