"""Experiments from the user's own Python files: `stepscope --experiments PATH` (docs/experiments.md).

Code is loaded only from paths on the server's command line (or STEPSCOPE_EXPERIMENTS), never from a
request. A file is imported as a module; every `Experiment` it defines at module level joins the
menu. A file that fails to import, or defines none, is reported by name with its error, and the
others load anyway: one broken file does not keep the server from starting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.engine.experiments import EXPERIMENTS, Experiment, register

_LOADED: list[Path] = []  # files loaded in this process, in order: the workers load them too


@dataclass(frozen=True)
class LoadProblem:
    path: Path
    error: str

    def __str__(self) -> str:
        return f"{self.path}: {self.error}"


def experiment_files(paths: Iterable[Path]) -> tuple[list[Path], list[LoadProblem]]:
    """The .py files named, or found directly inside a folder named (sorted; _private.py skipped)."""
    files, problems = [], []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(LoadProblem(path, "no such file or folder"))
    return files, problems


def load_experiments(paths: Iterable[Path]) -> list[LoadProblem]:
    """Load every experiment file under `paths`; return what could not be loaded, and why."""
    files, problems = experiment_files(paths)
    for file in files:
        problem = load_file(file.resolve())
        if problem is not None:
            problems.append(problem)
    return problems


def load_file(path: Path) -> LoadProblem | None:
    module_name = "stepscope_experiment_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            return LoadProblem(path, "not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
        spec.loader.exec_module(module)
    except Exception as error:  # the file's own error, whatever it is: report it, load the rest
        sys.modules.pop(module_name, None)
        return LoadProblem(path, _last_line(error))
    found = [value for value in vars(module).values() if isinstance(value, Experiment)]
    if not found:
        return LoadProblem(path, "defines no stepscope.Experiment at module level")
    for experiment in found:
        mine = dataclasses.replace(experiment, source=str(path))
        existing = EXPERIMENTS.get(experiment.name)
        if existing is not None and existing.source == str(path):
            EXPERIMENTS[experiment.name] = mine  # the same file loaded again (a second app)
            continue
        try:
            register(mine)
        except ValueError as error:
            return LoadProblem(path, str(error))
    if path not in _LOADED:
        _LOADED.append(path)
    return None


def loaded_files() -> list[Path]:
    return list(_LOADED)


def _last_line(error: BaseException) -> str:
    """The error as Python prints its last line, with the file's line number where it has one."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "importlib" not in f.filename]
    where = f" (line {frames[-1].lineno})" if frames else ""
    if isinstance(error, SyntaxError) and error.lineno:
        where = f" (line {error.lineno})"
    return "".join(traceback.format_exception_only(error)).strip().splitlines()[-1] + where
