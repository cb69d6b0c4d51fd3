"""Blueprints: discover, find, load, chain, resolve, diff and the ``--resolved`` rendering."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from mlplatform import blueprints
from mlplatform.errors import (
    BlueprintCycleError,
    BlueprintNotFoundError,
    FileFormatError,
    SpecValidationError,
)
from mlplatform.render.spec import resolved_blueprint_yaml

PACKAGED = ("level0", "level1", "level2")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, also the working directory (so files are shown as ``blueprints/x.yaml``)."""
    (tmp_path / "blueprints").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_blueprint(project: Path, name: str, text: str) -> Path:
    path = project / "blueprints" / f"{name}.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


GPU_BLUEPRINT = """
    description: Level 2 with GPU training
    extends: level2
    training:
      allowed_instance_types: [ml.g5.xlarge, ml.p3.2xlarge]
    pipelines:
      training_instance_type: ml.g5.xlarge
"""


# ---------------------------------------------------------------------------------------------------
# discover / find / load
# ---------------------------------------------------------------------------------------------------


def test_packaged_blueprints_are_the_three_levels() -> None:
    assert blueprints.packaged_names() == PACKAGED
    assert sorted(path.stem for path in blueprints.packaged_dir().glob("*.yaml")) == list(PACKAGED)


def test_discover_finds_packaged_blueprints_in_an_empty_project(tmp_path: Path) -> None:
    found = blueprints.discover(tmp_path)

    assert list(found) == list(PACKAGED)
    assert {ref.source for ref in found.values()} == {"packaged"}
    assert found["level1"].path == blueprints.packaged_dir() / "level1.yaml"


def test_discover_adds_project_blueprints_and_skips_bad_file_names(project: Path) -> None:
    write_blueprint(project, "gpu", GPU_BLUEPRINT)
    write_blueprint(project, "Bad Name", "description: x\nlevel: 0\n")
    (project / "blueprints" / "notes.txt").write_text("not a blueprint")

    found = blueprints.discover(project)

    assert list(found) == [*PACKAGED, "gpu"]
    assert found["gpu"].source == "blueprints/gpu.yaml"
    assert found["gpu"].path == project / "blueprints" / "gpu.yaml"


def test_find_returns_the_named_blueprint(tmp_path: Path) -> None:
    ref = blueprints.find("level2", tmp_path)

    assert (ref.name, ref.path.name, ref.source) == ("level2", "level2.yaml", "packaged")


def test_find_unknown_name_suggests_and_lists_the_available_ones(project: Path) -> None:
    write_blueprint(project, "gpu", GPU_BLUEPRINT)

    with pytest.raises(BlueprintNotFoundError) as caught:
        blueprints.find("levle1", project, wanted_by="stacks/dev.yaml: blueprint")

    message = str(caught.value)
    assert message.startswith("stacks/dev.yaml: blueprint: no blueprint named 'levle1'.")
    assert "Did you mean 'level1'?" in message
    assert "allowed: level0, level1, level2, gpu" in message
    assert caught.value.exit_code == 2


def test_load_splits_metadata_from_settings() -> None:
    loaded = blueprints.load(blueprints.find("level1"))

    assert (loaded.meta.level, loaded.meta.extends, loaded.meta.version) == (1, "level0", 1)
    assert loaded.meta.description.startswith("Pipeline automation and continuous training")
    assert not set(blueprints.META_KEYS) & set(loaded.settings)
    assert loaded.settings["training"]["enabled"] is True
    assert loaded.doc.file == "level1 (packaged blueprint level1.yaml)"


def test_chain_lists_parents_root_first() -> None:
    assert [bp.name for bp in blueprints.chain("level2")] == ["level0", "level1", "level2"]
    assert [bp.name for bp in blueprints.chain("level0")] == ["level0"]


# ---------------------------------------------------------------------------------------------------
# A project's own blueprints
# ---------------------------------------------------------------------------------------------------


def test_project_blueprint_extending_level2_with_gpu_training_resolves(project: Path) -> None:
    write_blueprint(project, "gpu", GPU_BLUEPRINT)

    resolved = blueprints.resolve("gpu", project)

    assert resolved.name == "gpu"
    assert resolved.level == 2  # inherited from level2
    assert [bp.name for bp in resolved.chain] == ["level0", "level1", "level2", "gpu"]
    assert resolved.chain[-1].ref.source == "blueprints/gpu.yaml"
    assert resolved.settings.training.allowed_instance_types == ["ml.g5.xlarge", "ml.p3.2xlarge"]
    assert resolved.settings.pipelines.training_instance_type == "ml.g5.xlarge"
    assert resolved.settings.cicd.enabled is True  # everything else comes from level2
    assert resolved.settings.training.max_parallel_jobs == 2


def test_project_blueprint_can_set_its_own_level(project: Path) -> None:
    write_blueprint(project, "small", "description: small\nextends: level1\nlevel: 1\ncicd:\n  enabled: false\n")

    assert blueprints.resolve("small", project).level == 1


def test_project_blueprint_error_is_located_in_its_file(project: Path) -> None:
    write_blueprint(
        project,
        "gpu",
        """
        description: GPU training, but the pipeline uses a type training does not allow
        extends: level2
        training:
          allowed_instance_types: [ml.g5.xlarge]
        """,
    )

    with pytest.raises(SpecValidationError) as caught:
        blueprints.resolve("gpu", project)

    [problem] = caught.value.problems
    # The type that is not allowed was written in the packaged level1 blueprint; the list that no
    # longer contains it is the project's. Validation blames the value: pipelines.training_instance_type.
    assert problem.path == "pipelines.training_instance_type"
    assert problem.file == "level1 (packaged blueprint level1.yaml)"
    assert problem.value == '"ml.m5.xlarge"'
    assert "ml.g5.xlarge" in problem.problem


def test_project_blueprint_wrong_value_reports_its_file_and_line(project: Path) -> None:
    write_blueprint(
        project,
        "mine",
        """
        description: mine
        extends: level0
        monitoring:
          alarms:
            latency_p99_ms: fast
        """,
    )

    with pytest.raises(SpecValidationError) as caught:
        blueprints.resolve("mine", project)

    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("blueprints/mine.yaml", 5, "monitoring.alarms.latency_p99_ms")
    assert (problem.value, problem.allowed) == ('"fast"', "an integer")


def test_project_blueprint_shadows_a_packaged_one_everywhere(project: Path) -> None:
    write_blueprint(
        project,
        "level0",
        """
        description: Our own level 0 with shorter-lived KMS keys
        level: 0
        encryption: {enabled: true, deletion_window_days: 7}
        network: {enabled: true}
        artifact_store: {enabled: true}
        container_registry: {enabled: true}
        identity: {enabled: true}
        registry: {enabled: true}
        monitoring: {enabled: true}
        """,
    )

    assert blueprints.find("level0", project).source == "blueprints/level0.yaml"
    level0 = blueprints.resolve("level0", project)
    assert level0.settings.encryption.deletion_window_days == 7
    assert level0.settings.dev_environment.enabled is False  # packaged level0 turns it on; ours does not
    # A packaged blueprint that extends level0 builds on the project's level0.
    level1 = blueprints.resolve("level1", project)
    assert level1.chain[0].ref.source == "blueprints/level0.yaml"
    assert level1.settings.encryption.deletion_window_days == 7


# ---------------------------------------------------------------------------------------------------
# Broken extends chains and documents
# ---------------------------------------------------------------------------------------------------


def test_extends_cycle_between_two_blueprints_names_the_loop(project: Path) -> None:
    write_blueprint(project, "a", "description: a\nextends: b\n")
    write_blueprint(project, "b", "description: b\nextends: a\n")

    with pytest.raises(BlueprintCycleError) as caught:
        blueprints.resolve("a", project)

    # The file that closes the loop, optionally with the line of its `extends:` (line 2).
    assert re.match(r"blueprints/b\.yaml(:2)?: extends: 'a' closes a loop: a -> b -> a\.", str(caught.value))
    assert caught.value.exit_code == 2


def test_blueprint_extending_itself_is_a_cycle(project: Path) -> None:
    write_blueprint(project, "a", "description: a\nextends: a\n")

    with pytest.raises(BlueprintCycleError, match=r"closes a loop: a -> a\.") as caught:
        blueprints.chain("a", project)

    assert re.match(r"blueprints/a\.yaml(:2)?: extends: 'a'", str(caught.value))


def test_cycle_further_up_the_chain_names_only_the_loop(project: Path) -> None:
    write_blueprint(project, "top", "description: top\nextends: a\n")
    write_blueprint(project, "a", "description: a\nextends: b\n")
    write_blueprint(project, "b", "description: b\nextends: a\n")

    with pytest.raises(BlueprintCycleError) as caught:
        blueprints.chain("top", project)

    assert "closes a loop: a -> b -> a." in str(caught.value)
    assert "top ->" not in str(caught.value)


def test_missing_parent_lists_the_available_blueprints(project: Path) -> None:
    write_blueprint(project, "orphan", "description: orphan\nextends: level3\n")

    with pytest.raises(BlueprintNotFoundError) as caught:
        blueprints.resolve("orphan", project)

    message = str(caught.value)
    assert re.match(r"blueprints/orphan\.yaml(:2)?: extends: no blueprint named 'level3'\.", message)
    assert "allowed: level0, level1, level2, orphan" in message


def test_missing_level_without_extends_is_an_error(project: Path) -> None:
    write_blueprint(project, "nolevel", "description: no level\nencryption:\n  enabled: true\n")

    with pytest.raises(SpecValidationError) as caught:
        blueprints.resolve("nolevel", project)

    assert str(caught.value).startswith("blueprints/nolevel.yaml: blueprint 'nolevel' sets no `level:`")
    assert "level: 0, 1 or 2" in str(caught.value)


def test_unknown_top_level_key_gets_did_you_mean(project: Path) -> None:
    write_blueprint(project, "typo", "description: typo\nextends: level0\nmonitorng:\n  enabled: true\n")

    with pytest.raises(SpecValidationError) as caught:
        blueprints.load(blueprints.find("typo", project))

    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("blueprints/typo.yaml", 3, "monitorng")
    assert problem.problem == "unknown key 'monitorng'"
    assert problem.allowed is not None
    assert problem.allowed.startswith("did you mean 'monitoring'? known keys: tags, protect")
    assert "extends" in problem.allowed  # metadata keys are allowed at the top level too


def test_unknown_nested_key_gets_did_you_mean(project: Path) -> None:
    write_blueprint(project, "typo", "description: typo\nextends: level0\nmonitoring:\n  dashbord: true\n")

    with pytest.raises(SpecValidationError) as caught:
        blueprints.resolve("typo", project)

    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("blueprints/typo.yaml", 4, "monitoring.dashbord")
    assert problem.allowed is not None
    assert problem.allowed.startswith("did you mean 'dashboard'?")


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ("level: 1\n", "description", None),
        ("description: x\nlevel: 3\n", "level", 2),
        ("description: x\nlevel: '1'\n", "level", 2),
        ("description: x\nlevel: 0\nversion: 0\n", "version", 3),
    ],
)
def test_invalid_metadata_is_located(project: Path, text: str, path: str, line: int | None) -> None:
    write_blueprint(project, "meta", text)

    with pytest.raises(SpecValidationError) as caught:
        blueprints.load(blueprints.find("meta", project))

    [problem] = caught.value.problems
    assert (problem.file, problem.path) == ("blueprints/meta.yaml", path)
    if line is not None:
        assert problem.line == line


@pytest.mark.parametrize(("text", "kind"), [("", "empty"), ("- a\n- b\n", "a list, not a mapping")])
def test_a_blueprint_must_be_a_mapping(project: Path, text: str, kind: str) -> None:
    (project / "blueprints" / "odd.yaml").write_text(text)

    with pytest.raises(FileFormatError) as caught:
        blueprints.resolve("odd", project)

    assert str(caught.value).startswith("blueprints/odd.yaml: a blueprint must be a YAML mapping")
    assert str(caught.value).endswith(f"this file is {kind}.")


# ---------------------------------------------------------------------------------------------------
# diff
# ---------------------------------------------------------------------------------------------------


def test_diff_level1_to_level2_adds_cicd() -> None:
    result = blueprints.diff(blueprints.resolve("level1"), blueprints.resolve("level2"))

    assert (result.a, result.b, result.level_a, result.level_b) == ("level1", "level2", 1, 2)
    assert result.added == ("cicd",)
    assert result.removed == ()
    changes = {change.path: (change.before, change.after) for change in result.changed}
    assert changes["serving.deployment.strategy"] == ("all-at-once", "canary")
    assert changes["monitoring.dashboard"] == (False, True)
    assert not any(path.startswith("cicd.") for path in changes)  # cicd is reported as added, not field by field


def test_diff_the_other_way_removes_what_was_added() -> None:
    result = blueprints.diff(blueprints.resolve("level2"), blueprints.resolve("level1"))

    assert (result.added, result.removed) == ((), ("cicd",))
    changes = {change.path: (change.before, change.after) for change in result.changed}
    assert changes["serving.deployment.strategy"] == ("canary", "all-at-once")


def test_diff_level0_to_level1_adds_the_pipeline_components() -> None:
    result = blueprints.diff(blueprints.resolve("level0"), blueprints.resolve("level1"))

    assert result.added == ("feature_store", "training", "pipelines")
    assert result.as_dict()["components_added"] == ["feature_store", "training", "pipelines"]


@pytest.mark.parametrize("name", PACKAGED)
def test_diff_with_itself_is_empty(name: str) -> None:
    result = blueprints.diff(blueprints.resolve(name), blueprints.resolve(name))

    assert (result.added, result.removed, result.changed) == ((), (), ())


# ---------------------------------------------------------------------------------------------------
# `blueprints show --resolved`
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PACKAGED, "gpu"])
def test_resolved_yaml_is_a_standalone_blueprint_with_the_same_settings(project: Path, name: str) -> None:
    write_blueprint(project, "gpu", GPU_BLUEPRINT)
    original = blueprints.resolve(name, project)

    text = resolved_blueprint_yaml(original)
    document = yaml.safe_load(text)
    write_blueprint(project, "flat", text)
    flat = blueprints.resolve("flat", project)

    assert text.startswith(f"# blueprint {name}, resolved: {name}")
    assert "extends" not in document
    assert document["level"] == original.level
    assert document["description"] == original.chain[-1].meta.description
    assert [bp.name for bp in flat.chain] == ["flat"]
    assert flat.level == original.level
    assert flat.settings == original.settings
