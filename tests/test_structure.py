"""The package's structure: layers that import one way, and a dvc.yaml that cannot lie.

Layers: nothing imports the CLI or a stage (but the CLI its stages); scoring uses only
data, features and modeling; reporting only scoring, features and data; each lower
layer uses only the layers below it.

dvc.yaml: every stage declares every project file its code imports and every param it
reads. Each stage's command is `stance <stage>`: the CLI module (its module-level imports; the
other commands import their code lazily) plus the stage's module, followed import by
import through the package. Params are read as `params.<section>.<key>` (or a whole
`params.<section>`); the data files those params name must be deps too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from pipeline.params import DataParams

PACKAGE = "pipeline"
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def module_file(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imported_modules(path: Path, top_level_only: bool = False) -> set[str]:
    """Project modules that `path` imports, with the packages each import runs on the way."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pipeline.x import y` may import the module pipeline.x.y
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            if name.split(".")[0] != PACKAGE:
                continue
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {m for m in found if module_file(m)}


def import_closure(stage: str) -> set[Path]:
    roots = imported_modules(module_file("pipeline.cli"), top_level_only=True) | {"pipeline.cli"}
    roots |= {"pipeline.stages", f"pipeline.stages.{stage}"}
    seen, todo = set(), list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        if module != "pipeline.cli":
            todo.extend(imported_modules(module_file(module)))
    return {module_file(m).relative_to(ROOT) for m in seen}


def params_read(files: set[Path], target_files: bool = False) -> set[str]:
    """Keys read as params.<section>[.<key>] anywhere in these files. A file of the target's
    folder (params.data.actors...) is read through data.target, or kept as its own key
    with `target_files`."""
    keys = set()
    for path in files:
        if path == Path("pipeline/params.py"):
            # params.yaml's own validation, the same for every command (its data.target folder is there):
            # it stops a run or lets it go, and changes no stage's output, so it is no stage's input.
            continue
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "params" and isinstance(parents.get(node), ast.Attribute):
                section = parents[node]
                key = parents.get(section)
                if section.attr in PARAMS:
                    name = f"{section.attr}.{key.attr}" if isinstance(key, ast.Attribute) else section.attr
                    if name.startswith("data.") and name[5:] in DataParams.TARGET_FILES and not target_files:
                        name = "data.target"
                    keys.add(name)
    return keys


def data_files_read(stage: str) -> set[str]:
    """The data files and folders a stage reads through params.data, as paths from the project root."""
    files = set()
    for key in params_read(import_closure(stage), target_files=True):
        if key.startswith("data.") and key != "data.target":  # the folder's name; its files count one by one
            name = key.split(".")[1]
            in_target = DataParams.TARGET_FILES.get(name)
            files.add(f"{PARAMS['data']['target']}/{in_target}" if in_target else PARAMS["data"][name])
    return files


def covered(path: str, declared: list[str]) -> bool:
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in declared)


def deps_of(stage: str) -> list[str]:
    """The stage's deps, with ${data.<key>} replaced as DVC does, from params.yaml."""
    deps = [next(iter(d)) if isinstance(d, dict) else d for d in STAGES[stage]["deps"]]
    return [re.sub(r"\$\{data\.(\w+)\}", lambda m: PARAMS["data"][m.group(1)], dep) for dep in deps]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_module_a_stage_imports_is_a_declared_dependency(stage):
    assert STAGES[stage]["cmd"] == f"stance {stage}"
    closure = import_closure(stage)
    assert Path(f"pipeline/stages/{stage}.py") in closure and Path("pipeline/cli.py") in closure
    missing = sorted(str(path) for path in closure if not covered(path.as_posix(), deps_of(stage)))
    assert not missing, f"dvc.yaml stage {stage} does not declare {missing}"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_param_a_stage_reads_is_declared_and_every_declared_one_is_read(stage):
    read = params_read(import_closure(stage))
    declared = set(STAGES[stage].get("params", []))
    undeclared = sorted(k for k in read if k not in declared and k.split(".")[0] not in declared)
    assert not undeclared, f"dvc.yaml stage {stage} reads params {undeclared} without declaring them"
    unread = sorted(d for d in declared if d not in read and not any(k.startswith(d + ".") for k in read))
    assert not unread, f"dvc.yaml stage {stage} declares params {unread} that its code never reads"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_data_file_a_stage_reads_through_params_is_a_declared_dependency(stage):
    missing = sorted(f for f in data_files_read(stage) if not covered(f, deps_of(stage)))
    assert not missing, f"dvc.yaml stage {stage} reads {missing} without declaring them"


def test_the_entry_point_is_a_declared_dependency_of_every_stage_that_runs():
    """`stance` runs every stage, so its entry point is a dep (the frozen distill stage never runs)."""
    for stage, spec in STAGES.items():
        assert spec.get("frozen") or "pipeline/__main__.py" in deps_of(stage), stage


def test_the_check_sees_an_undeclared_module_and_param(tmp_path):
    """The closure follows imports inside functions, and the params scan sees attribute chains."""
    closure = import_closure("evaluate")
    assert Path("pipeline/features/tokens.py") in closure  # evaluate -> metrics -> tokens
    assert Path("pipeline/scoring/scorer.py") not in closure  # only the score command imports it
    assert "evaluate.cv_folds" in params_read(closure)
    assert not covered("pipeline/data/labels.py", ["pipeline/features", "pipeline/data/labels.pyc"])


def test_declared_deps_exist():
    for stage in STAGES:
        for dep in deps_of(stage):
            if not dep.startswith(("data/prepared", "models/")):  # outputs of earlier stages
                assert (ROOT / dep).exists(), f"{stage}: {dep}"


# What each layer may import, besides the shared modules (errors, files, params, paths).
LAYERS = {
    "data": {"data"},
    "features": {"features"},
    "modeling": {"modeling", "features", "data"},
    "evaluation": {"evaluation", "modeling", "features", "data"},
    "scoring": {"scoring", "modeling", "features", "data"},
    "stages": {"data", "features", "modeling", "evaluation"},
    "annotation": {"annotation", "scoring", "modeling", "data", "evaluation"},
    "reporting": {"reporting", "scoring", "features", "data"},
}
SHARED = {"errors", "files", "params", "paths"}


def layer_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_imports_only_the_layers_below_it(layer):
    for path in sorted((ROOT / "pipeline" / layer).glob("*.py")):
        module = f"pipeline.{layer}.{path.stem}"
        for imported in imported_modules(path):
            target = layer_of(imported)
            if not target or target in SHARED or imported == module:
                continue
            assert target in LAYERS[layer], f"{module} imports {imported}"
            if layer == "stages" and target == "stages":
                raise AssertionError(f"{module} imports another stage, {imported}")


def test_only_the_entry_point_imports_the_cli_and_only_the_cli_imports_the_stages():
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for imported in imported_modules(path):
            assert imported != "pipeline.cli" or module == "pipeline.__main__", f"{module} imports the CLI"
            if layer_of(imported) == "stages" and imported != "pipeline.stages":
                assert module == "pipeline.cli", f"{module} imports {imported}"
