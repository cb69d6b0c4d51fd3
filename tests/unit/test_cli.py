"""CLI contract tests: what `mlplatform` prints and which exit code it returns (README: CLI reference and exit codes).

Every test runs in an empty temporary directory (``monkeypatch.chdir``), so the repository's own
``stacks/`` and ``blueprints/`` never leak in: only the packaged blueprints and the built-in ``local``
environment exist unless a test writes files.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

import mlplatform
from mlplatform import blueprints, environments, scaffold

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGED = {"level0": 0, "level1": 1, "level2": 2}

Run = Callable[..., Result]


def list_rows(output: str) -> dict[str, tuple[str, str]]:
    """``blueprints list`` text -> {name: (level, source)}; checks the header first."""
    lines = output.splitlines()
    assert lines[0].split() == ["NAME", "LEVEL", "SOURCE", "DESCRIPTION"]
    rows = {}
    for line in lines[1:]:
        name, level, source = line.split()[:3]
        rows[name] = (level, source)
    return rows


# --------------------------------------------------------------------------------------------------
# --version
# --------------------------------------------------------------------------------------------------


def test_version_prints_the_package_version(run: Run) -> None:
    result = run("--version")
    assert result.exit_code == 0, result.output
    pyproject_version = re.search(r'^version = "([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.M)
    assert pyproject_version is not None
    assert mlplatform.__version__ == pyproject_version.group(1)
    assert result.stdout == f"mlplatform {pyproject_version.group(1)}\n"


# --------------------------------------------------------------------------------------------------
# blueprints list / show / diff
# --------------------------------------------------------------------------------------------------


def test_blueprints_list_shows_packaged_levels(run: Run) -> None:
    result = run("blueprints", "list")
    assert result.exit_code == 0, result.output
    rows = list_rows(result.stdout)
    for name, level in PACKAGED.items():
        assert rows[name] == (str(level), "packaged")
    assert "INVALID" not in result.stdout


def test_blueprints_list_json(run: Run) -> None:
    result = run("blueprints", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)["blueprints"]}
    assert set(PACKAGED) <= set(rows)
    for name, level in PACKAGED.items():
        assert rows[name]["level"] == level
        assert rows[name]["source"] == "packaged"
        assert rows[name]["error"] is None
        assert rows[name]["description"]
    assert [rows[name]["extends"] for name in ("level0", "level1", "level2")] == [None, "level0", "level1"]


def test_blueprints_show_prints_the_file_as_written(run: Run) -> None:
    result = run("blueprints", "show", "level2")
    assert result.exit_code == 0, result.output
    assert result.stdout == (blueprints.packaged_dir() / "level2.yaml").read_text(encoding="utf-8")
    assert "extends: level1" in result.stdout


def test_blueprints_show_resolved_is_merged_yaml(run: Run) -> None:
    result = run("blueprints", "show", "level2", "--resolved")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# blueprint level2, resolved: level2 <- level1 <- level0\n")
    doc = yaml.safe_load(result.stdout)
    assert doc["level"] == 2
    assert "extends" not in doc
    assert doc["cicd"]["enabled"] is True
    assert doc["cicd"]["stages"] == ["staging", "prod"]
    # inherited from level1 and level0
    assert doc["pipelines"]["enabled"] is True
    assert "sts" in doc["network"]["interface_endpoints"]
    assert doc["encryption"]["enabled"] is True
    # a default filled in that no blueprint sets
    assert doc["training"]["max_runtime_hours"] == 24


def test_resolved_blueprint_is_itself_a_valid_blueprint(run: Run, tmp_path: Path) -> None:
    shown = run("blueprints", "show", "level2", "--resolved")
    assert shown.exit_code == 0, shown.output
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "flat.yaml").write_text(shown.stdout, encoding="utf-8")
    result = run("blueprints", "diff", "level2", "flat", "--json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    assert diff["b"] == {"name": "flat", "level": 2}
    assert diff["components_added"] == []
    assert diff["components_removed"] == []
    assert diff["settings_changed"] == []


def test_blueprints_diff_text_names_cicd_as_added(run: Run) -> None:
    result = run("blueprints", "diff", "level1", "level2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "blueprint level1 (level 1) -> level2 (level 2)"
    adds = lines.index("components level2 adds:")
    removes = lines.index("components level2 removes:")
    assert lines[adds + 1 : removes] == ["  + cicd"]
    assert lines[removes + 1] == "  (none)"
    assert "  ~ serving.deployment.strategy: all-at-once -> canary" in lines


def test_blueprints_diff_json_names_cicd_as_added(run: Run) -> None:
    result = run("blueprints", "diff", "level1", "level2", "--json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    assert diff["a"] == {"name": "level1", "level": 1}
    assert diff["b"] == {"name": "level2", "level": 2}
    assert diff["components_added"] == ["cicd"]
    assert diff["components_removed"] == []
    changed = {change["path"]: (change["a"], change["b"]) for change in diff["settings_changed"]}
    assert changed["serving.deployment.strategy"] == ("all-at-once", "canary")
    assert changed["monitoring.dashboard"] == (False, True)


def test_blueprints_diff_reversed_names_cicd_as_removed(run: Run) -> None:
    result = run("blueprints", "diff", "level2", "level1", "--json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    assert diff["components_added"] == []
    assert diff["components_removed"] == ["cicd"]


# --------------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------------


def test_validate_local_with_blueprint_level2(run: Run) -> None:
    result = run("validate", "--env", "local", "--blueprint", "level2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "environment 'local' is valid (built-in; no stacks/local.yaml)"
    assert "  blueprint   level2 (level 2): level2 <- level1 <- level0" in lines
    assert "  target      local, region us-east-1" in lines
    assert "cicd" in next(line for line in lines if line.startswith("  components"))


def test_validate_json_outputs_the_spec(run: Run) -> None:
    result = run("validate", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["valid"] is True
    assert doc["env"] == "local"
    assert doc["file"] is None
    assert doc["blueprint_chain"] == ["level0"]
    spec = doc["spec"]
    assert (spec["env"], spec["blueprint"], spec["level"]) == ("local", "level0", 0)
    assert (spec["target"], spec["region"], spec["name"]) == ("local", "us-east-1", "mlp-local")
    assert spec["protect"] is False
    assert spec["cicd"]["enabled"] is False
    assert [endpoint["name"] for endpoint in spec["serving"]["endpoints"]] == ["demo"]  # the built-in sample


def test_validate_json_with_blueprint_level2(run: Run) -> None:
    result = run("validate", "--json", "--blueprint", "level2")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["blueprint_chain"] == ["level0", "level1", "level2"]
    assert doc["spec"]["level"] == 2
    assert doc["spec"]["cicd"]["enabled"] is True


def test_validate_json_reports_problems_as_json(run: Run, tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "dev.yaml").write_text(
        "blueprint: level0\ntarget: aws\nregion: eu-west-1\noverrides:\n  training:\n    max_parallel_jobs: 0\n",
        encoding="utf-8",
    )
    result = run("validate", "--env", "dev", "--json")
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout)
    assert doc["valid"] is False
    assert doc["env"] == "dev"
    assert doc["problems"] == [
        {
            "file": "stacks/dev.yaml",
            "line": 6,
            "path": "overrides.training.max_parallel_jobs",
            "value": "0",
            "problem": "Input should be greater than 0",
            "allowed": "an integer > 0 and <= 100",
        }
    ]
    assert "Traceback" not in result.output


def test_unknown_option_is_a_usage_error(run: Run) -> None:
    result = run("validate", "--no-such-flag")
    assert result.exit_code == 2
    assert "--no-such-flag" in result.stderr
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------------------------------
# init
# --------------------------------------------------------------------------------------------------

INIT_DEV = ("init", "--env", "dev", "--target", "aws", "--account-id", "111111111111", "--region", "eu-west-1")


def test_init_writes_env_file_pulumi_yaml_and_the_program(run: Run, tmp_path: Path) -> None:
    result = run(*INIT_DEV)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "wrote stacks/dev.yaml\nwrote Pulumi.yaml\nwrote __main__.py (the program `pulumi up -s <env>` runs)\n"
        "added .mlplatform/ to .gitignore (state, locks and the secrets key stay out of git)\n"
        "environment 'dev' is valid"
    )
    env_file = tmp_path / "stacks" / "dev.yaml"
    data = yaml.safe_load(env_file.read_text(encoding="utf-8"))
    assert data["blueprint"] == "level0"
    assert data["target"] == "aws"
    assert data["region"] == "eu-west-1"
    assert data["overrides"] == {"tags": {"environment": "dev"}}
    assert (tmp_path / "Pulumi.yaml").read_text(encoding="utf-8") == scaffold.PULUMI_YAML
    assert (tmp_path / "__main__.py").read_text(encoding="utf-8") == scaffold.MAIN_PY
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitignore", "Pulumi.yaml", "__main__.py", "stacks"]
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["dev.yaml"]
    assert ".mlplatform/" in (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_init_adds_the_state_folder_to_an_existing_gitignore_once(run: Run, tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc", encoding="utf-8")  # no final newline
    assert run(*INIT_DEV).exit_code == 0
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()[0] == "*.pyc"
    second = run("init", "--env", "qa", "--target", "aws", "--account-id", "111111111111", "--region", "eu-west-1")
    assert second.exit_code == 0 and ".gitignore" not in second.stdout
    lines = (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines.count(".mlplatform/") == 1


def test_init_leaves_an_existing_program_and_pulumi_yaml_alone(run: Run, tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("print('the project's own program')\n", encoding="utf-8")
    (tmp_path / "Pulumi.yaml").write_text("name: theirs\nruntime: python\n", encoding="utf-8")
    result = run(*INIT_DEV)
    assert result.exit_code == 0, result.output
    assert "wrote __main__.py" not in result.stdout and "wrote Pulumi.yaml" not in result.stdout
    assert (tmp_path / "__main__.py").read_text(encoding="utf-8") == "print('the project's own program')\n"
    assert (tmp_path / "Pulumi.yaml").read_text(encoding="utf-8") == "name: theirs\nruntime: python\n"


def test_init_writes_the_program_into_a_project_that_has_only_pulumi_yaml(run: Run, tmp_path: Path) -> None:
    # A project from before the program entry existed gets it with its next init; its Pulumi.yaml stays.
    (tmp_path / "Pulumi.yaml").write_text("name: mlplatform\nruntime: python\n", encoding="utf-8")
    result = run(*INIT_DEV)
    assert result.exit_code == 0, result.output
    assert "wrote __main__.py" in result.stdout and "wrote Pulumi.yaml" not in result.stdout
    assert (tmp_path / "__main__.py").read_text(encoding="utf-8") == scaffold.MAIN_PY


def test_the_scaffolded_pulumi_yaml_and_program_are_the_repository_ones() -> None:
    # One text for each, so what `init` writes is what the repository runs and documents.
    assert (REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8") == scaffold.PULUMI_YAML
    assert (REPO_ROOT / "__main__.py").read_text(encoding="utf-8") == scaffold.MAIN_PY
    comment = " ".join(line.lstrip("# ") for line in scaffold.PULUMI_YAML.splitlines())
    assert "through the Pulumi engine" in comment and "not supported" not in comment
    # How to use it: the stack named like the env, the blueprint config, the backend, the passphrase, the plugin.
    for needed in (
        "pulumi preview -s dev",
        "pulumi config set mlplatform:blueprint",
        "PULUMI_BACKEND_URL=file://$PWD/.mlplatform/pulumi-state",
        "--config-file .mlplatform/pulumi/<env>/Pulumi.<env>.yaml",
        "PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.mlplatform/pulumi/passphrase",
        "pulumi-resource-aws",
        "mlplatform.app.emulator_provider.write_plugin",
    ):
        assert needed in comment, needed


def test_init_local_keeps_the_samples_and_leaves_the_blueprint_to_choose(run: Run, tmp_path: Path) -> None:
    result = run("init", "--env", "local")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / "stacks" / "local.yaml").read_text(encoding="utf-8"))
    assert data["samples"] is True and "blueprint" not in data
    spec = environments.resolve("local", "level1", tmp_path).spec
    assert [group.name for group in spec.feature_store.feature_groups] == ["customers"]  # as the built-in env
    assert [endpoint.name for endpoint in spec.serving.endpoints] == ["demo"]


def test_init_env_validates(run: Run) -> None:
    assert run(*INIT_DEV).exit_code == 0
    result = run("validate", "--env", "dev", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["valid"] is True
    assert Path(doc["file"]).parts[-2:] == ("stacks", "dev.yaml")
    spec = doc["spec"]
    assert (spec["env"], spec["target"], spec["region"], spec["blueprint"]) == ("dev", "aws", "eu-west-1", "level0")
    assert spec["protect"] is True
    assert spec["tags"] == {"environment": "dev"}


def test_init_with_blueprint_and_owner(run: Run, tmp_path: Path) -> None:
    result = run(*INIT_DEV, "--blueprint", "level2", "--owner", "ml@example.com", "--account-id", "012345678901")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / "stacks" / "dev.yaml").read_text(encoding="utf-8"))
    assert data["blueprint"] == "level2"
    assert data["owner"] == "ml@example.com"
    assert data["account_id"] == "012345678901"  # leading zero kept: written quoted
    assert "  blueprint   level2 (level 2): level2 <- level1 <- level0" in result.stdout.splitlines()


def test_init_refuses_to_overwrite(run: Run, tmp_path: Path) -> None:
    assert run(*INIT_DEV).exit_code == 0
    env_file = tmp_path / "stacks" / "dev.yaml"
    before = env_file.read_bytes()
    result = run("init", "--env", "dev", "--target", "aws", "--account-id", "111111111111", "--region", "us-west-2")
    assert result.exit_code == 2, result.output
    assert "stacks/dev.yaml already exists" in result.stderr
    assert "--force" in result.stderr
    assert "Traceback" not in result.output
    assert env_file.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["dev.yaml"]


def test_init_force_replaces_and_keeps_a_backup(run: Run, tmp_path: Path) -> None:
    pulumi_yaml = tmp_path / "Pulumi.yaml"
    assert run(*INIT_DEV).exit_code == 0
    env_file = tmp_path / "stacks" / "dev.yaml"
    before = env_file.read_bytes()
    pulumi_before = pulumi_yaml.read_bytes()
    result = run(
        "init", "--env", "dev", "--target", "aws", "--account-id", "111111111111", "--region", "us-west-2", "--force"
    )
    assert result.exit_code == 0, result.output
    assert "wrote stacks/dev.yaml" in result.stdout
    assert "wrote Pulumi.yaml" not in result.stdout
    assert yaml.safe_load(env_file.read_text(encoding="utf-8"))["region"] == "us-west-2"
    assert (tmp_path / "stacks" / "dev.yaml.bak").read_bytes() == before
    assert pulumi_yaml.read_bytes() == pulumi_before
    # no temporary files left behind by the atomic writes
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["dev.yaml", "dev.yaml.bak"]


def test_init_keeps_an_existing_pulumi_yaml(run: Run, tmp_path: Path) -> None:
    pulumi_yaml = tmp_path / "Pulumi.yaml"
    pulumi_yaml.write_text("name: my-own-project\nruntime: python\n", encoding="utf-8")
    result = run(*INIT_DEV)
    assert result.exit_code == 0, result.output
    assert "wrote Pulumi.yaml" not in result.stdout
    assert pulumi_yaml.read_text(encoding="utf-8") == "name: my-own-project\nruntime: python\n"


def test_init_aws_without_region_is_refused(run: Run, tmp_path: Path) -> None:
    result = run("init", "--env", "dev", "--target", "aws", "--account-id", "111111111111")
    assert result.exit_code == 2, result.output
    assert "target aws needs a region for environment 'dev'" in result.stderr
    assert "--region eu-west-1" in result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_init_aws_region_from_environment(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "ap-southeast-2")
    result = run("init", "--env", "dev", "--target", "aws", "--account-id", "111111111111")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / "stacks" / "dev.yaml").read_text(encoding="utf-8"))
    assert data["region"] == "ap-southeast-2"


def test_init_local_env_defaults_to_local_target(run: Run, tmp_path: Path) -> None:
    result = run("init", "--env", "local")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / "stacks" / "local.yaml").read_text(encoding="utf-8"))
    assert (data["target"], data["region"]) == ("local", "us-east-1")
    assert "environment 'local' is valid (local.yaml)" in result.stdout


def test_init_force_backup_is_byte_identical_for_a_hand_edited_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    original = b"blueprint: level0\r\ntarget: aws\r\nregion: eu-west-1\r\ndescription: caf\xe9\r\n"
    (tmp_path / "stacks" / "dev.yaml").write_bytes(original)
    result = run(*INIT_DEV, "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "stacks" / "dev.yaml.bak").read_bytes() == original


def test_init_files_honour_the_umask(run: Run, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        result = run(*INIT_DEV)
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    for path in (tmp_path / "stacks" / "dev.yaml", tmp_path / "Pulumi.yaml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_init_owner_is_written_verbatim(run: Run, tmp_path: Path) -> None:
    result = run(*INIT_DEV, "--owner", "team #ml")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / "stacks" / "dev.yaml").read_text(encoding="utf-8"))
    assert data["owner"] == "team #ml"


def test_refused_init_writes_nothing(run: Run, tmp_path: Path) -> None:
    result = run("init", "--env", "local", "--account-id", "111111111111")
    assert result.exit_code == 2, result.output
    assert "target local runs in the emulator's account" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# user blueprints
# --------------------------------------------------------------------------------------------------

GPU_BLUEPRINT = """\
description: GPU training on top of level 2
extends: level2
training:
  allowed_instance_types: [ml.g5.xlarge, ml.m5.xlarge]
"""


def test_user_blueprint_is_listed_with_its_path(run: Run, tmp_path: Path) -> None:
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "gpu.yaml").write_text(GPU_BLUEPRINT, encoding="utf-8")
    result = run("blueprints", "list")
    assert result.exit_code == 0, result.output
    rows = list_rows(result.stdout)
    assert rows["gpu"] == ("2", "blueprints/gpu.yaml")
    assert rows["level2"] == ("2", "packaged")

    as_json = run("blueprints", "list", "--json")
    assert as_json.exit_code == 0, as_json.output
    gpu = next(row for row in json.loads(as_json.stdout)["blueprints"] if row["name"] == "gpu")
    assert gpu == {
        "name": "gpu",
        "level": 2,
        "description": "GPU training on top of level 2",
        "source": "blueprints/gpu.yaml",
        "extends": "level2",
        "error": None,
    }


def test_user_blueprint_validates_and_merges(run: Run, tmp_path: Path) -> None:
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "gpu.yaml").write_text(GPU_BLUEPRINT, encoding="utf-8")
    result = run("validate", "--blueprint", "gpu", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["blueprint_chain"] == ["level0", "level1", "level2", "gpu"]
    assert doc["spec"]["level"] == 2
    assert doc["spec"]["training"]["allowed_instance_types"] == ["ml.g5.xlarge", "ml.m5.xlarge"]
    assert doc["spec"]["cicd"]["enabled"] is True


def test_broken_user_blueprint_makes_list_exit_2(run: Run, tmp_path: Path) -> None:
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "gpu.yaml").write_text("description: x\nextends: level2\nlevel: 7\n", encoding="utf-8")
    result = run("blueprints", "list")
    assert result.exit_code == 2, result.output
    rows = list_rows(result.stdout)
    assert rows["gpu"] == ("?", "blueprints/gpu.yaml")
    assert rows["level2"] == ("2", "packaged")
    gpu_line = next(line for line in result.stdout.splitlines() if line.startswith("gpu "))
    assert "INVALID" in gpu_line
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------------------------------
# error handling: --debug, internal errors, cancellation
# --------------------------------------------------------------------------------------------------


def test_user_error_has_no_traceback_by_default(run: Run) -> None:
    result = run("validate", "--env", "nope")
    assert result.exit_code == 6, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: environment not found: no environment 'nope'")
    assert "Traceback" not in result.output


def test_debug_shows_traceback_for_user_error(run: Run) -> None:
    result = run("--debug", "validate", "--env", "nope")
    assert result.exit_code == 6, result.output
    assert "Traceback (most recent call last)" in result.stderr
    assert "EnvNotFoundError" in result.stderr
    assert "error: environment not found: no environment 'nope'" in result.stderr


def _raise_runtime_error(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom from a test")


@pytest.mark.parametrize(
    ("module", "function", "args"),
    [
        (environments, "resolve", ("validate",)),
        (blueprints, "discover", ("blueprints", "list")),
        (blueprints, "resolve", ("blueprints", "diff", "level1", "level2")),
        (scaffold, "init_environment", INIT_DEV),
    ],
    ids=["validate", "blueprints-list", "blueprints-diff", "init"],
)
def test_unexpected_exception_is_an_internal_error(
    run: Run, monkeypatch: pytest.MonkeyPatch, module: object, function: str, args: tuple[str, ...]
) -> None:
    monkeypatch.setattr(module, function, _raise_runtime_error)
    result = run(*args)
    assert result.exit_code == 255, result.output
    assert "error: internal error" in result.stderr
    assert "RuntimeError: boom from a test" in result.stderr  # the traceback is shown without --debug
    assert result.stdout == ""


def test_keyboard_interrupt_is_cancelled(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(environments, "resolve", interrupt)
    result = run("validate")
    assert result.exit_code == 8, result.output
    assert "error: cancelled" in result.stderr
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------------------------------
# The project folder: found like git finds a repository, or given with -C
# --------------------------------------------------------------------------------------------------


def test_a_command_from_a_subfolder_works_on_the_project(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "lab.yaml").write_text("blueprint: level1\ntarget: local\n", encoding="utf-8")
    (tmp_path / "blueprints" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "blueprints" / "deep")

    result = run("validate", "--env", "lab", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["file"] == str(tmp_path / "stacks" / "lab.yaml")
    monkeypatch.delenv("MLPLATFORM_STATE_DIR", raising=False)
    assert mlplatform.paths.state_dir(None) == tmp_path / ".mlplatform"  # not blueprints/deep/.mlplatform


def test_cwd_option_runs_as_if_started_there(run: Run, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "stacks").mkdir(parents=True)
    (project / "stacks" / "lab.yaml").write_text("blueprint: level2\ntarget: local\n", encoding="utf-8")

    result = run("-C", str(project), "validate", "--env", "lab", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["spec"]["blueprint"] == "level2"

    missing = run("-C", str(tmp_path / "nowhere"), "validate")
    assert missing.exit_code == 2 and "--cwd" in missing.stderr and "nowhere" in missing.stderr


def test_outputs_of_an_environment_never_deployed_here_names_where_it_looked(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLPLATFORM_STATE_DIR", raising=False)
    for args in (("outputs",), ("state", "list")):
        result = run(*args)
        assert result.exit_code == 6, result.output
        assert f"has no state in {tmp_path / '.mlplatform'}" in result.stderr
        assert "Traceback" not in result.output


def test_project_dir_walks_up_to_the_nearest_marker(tmp_path: Path) -> None:
    from mlplatform.paths import project_dir

    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    assert project_dir(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "b" / "c"  # nothing: where we are
    (tmp_path / "a" / "Pulumi.yaml").write_text("name: x\n", encoding="utf-8")
    assert project_dir(tmp_path / "a" / "b" / "c") == tmp_path / "a"
    (tmp_path / "a" / "b" / ".mlplatform").mkdir()
    assert project_dir(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "b"  # the nearest wins
    (tmp_path / "a" / "b" / "c" / "stacks").write_text("a file, not a folder", encoding="utf-8")
    assert project_dir(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "b"


def test_validate_and_export_follow_the_same_blueprint_rule_as_up(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlplatform.engine.embedded.state import ResourceState, StateStore

    monkeypatch.delenv("MLPLATFORM_STATE_DIR", raising=False)
    store = StateStore(tmp_path / ".mlplatform", "local")
    with store.lock("up"):  # what `up --blueprint level1` leaves behind
        store.set_blueprint("level1")
        op = store.begin("create", "urn:pulumi:local::mlplatform::aws:s3/bucket:Bucket::b", "aws:s3/bucket:Bucket")
        store.succeed(op, ResourceState(urn="urn:pulumi:local::mlplatform::aws:s3/bucket:Bucket::b", type="t", id="b"))
        store.compact()

    result = run("validate", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["spec"]["blueprint"], doc["blueprint_source"]) == ("level1", "last deploy")
    assert "remembered from the last deploy" in run("validate").stdout
    exported = json.loads(run("export").stdout)
    types = {change["type"] for change in exported["resource_changes"]}
    assert "aws_sagemaker_pipeline" in types  # level1's pipeline, not level0's platform
    assert json.loads(run("validate", "--json", "--blueprint", "level0").stdout)["blueprint_source"] == "--blueprint"
