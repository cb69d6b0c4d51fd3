"""Fixes for moto's Glue gaps.

A test named with no file is in tests/integration/test_emulator_patches.py.

- ``drop_database_tags_on_delete``: ``DeleteDatabase`` leaves the database's tags in the tagging API.
  test_glue_database_tags_outlive_the_database_on_plain_moto
"""

from __future__ import annotations

from typing import Any

from mlplatform.emulator.patches.support import first_time


def drop_database_tags_on_delete() -> None:
    """Glue ``DeleteDatabase`` keeps the database's tags in moto 5.2.5.

    moto's ``GlueBackend.delete_database`` removes the database but not the entry in its tagging service,
    so the Resource Groups Tagging API still lists ``arn:…:database/<name>`` with its tags after the
    database is gone (AWS deletes a resource's tags with it). A ``destroy`` then looks as if it leaked a
    tagged resource.
    """
    from moto.glue.models import GlueBackend

    if not first_time(GlueBackend, "_mlplatform_drops_tags"):
        return
    original = GlueBackend.delete_database

    def delete_database(self: Any, database_name: str) -> None:
        original(self, database_name)
        arn = f"arn:{self.partition}:glue:{self.region_name}:{self.account_id}:database/{database_name}"
        self.tagger.delete_all_tags_for_resource(arn)

    GlueBackend.delete_database = delete_database  # type: ignore[method-assign]
