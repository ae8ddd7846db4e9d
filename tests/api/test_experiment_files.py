"""`stepscope --experiments PATH`: the user's own experiment files, loaded by the real server.

One server, started as a user would with examples/ripple.py, a file with a syntax error, a file
that raises at import, a folder (with a good file, one that defines no experiment, a private file
and a text file) and a path that does not exist: it starts anyway, names each broken file with its
error, lists the experiments that loaded with their source, and their runs train in their worker
processes. Code is loaded only from the command line: no request can name a file.
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from app.contract.snapshot import SnapshotHeader
from app.stream.protocol import decode_snapshot
from tests.support import Server, call, free_port, ready_run

ROOT = Path(__file__).resolve().parents[2]
RIPPLE = ROOT / "examples" / "ripple.py"

WAVE = '''
"""A second experiment, in a folder: z = sin(x1 + x2), by a 2-8-1 MLP."""
import torch
from torch import nn

import stepscope


def data(config):
    generator = torch.Generator().manual_seed(config.seed)
    points = 4 * torch.rand(config.n_samples, 2, generator=generator) - 2
    return stepscope.Data(inputs=points, targets=torch.sin(points.sum(dim=1, keepdim=True)))


WAVE = stepscope.Experiment(
    name="wave",
    title="Wave (from a folder)",
    description="z = sin(x1 + x2)",
    data=data,
    model=lambda config: nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)),
    loss=lambda config: nn.MSELoss(),
    defaults={"steps_per_second": None, "optimizer": {"name": "adam", "lr": 0.02}},
)
'''

# An experiment that tells where its model is built: the worker's torch thread count, in a file.
PROBE = """
from pathlib import Path

import torch
from torch import nn

import stepscope


def model(config):
    Path(__file__).with_suffix(".threads").write_text(str(torch.get_num_threads()))
    return nn.Linear(2, 1)


PROBE = stepscope.Experiment(
    name="probe",
    title="Probe",
    description="says how many threads its worker's torch runs",
    data=lambda config: stepscope.Data(inputs=torch.zeros(4, 2), targets=torch.zeros(4, 1)),
    model=model,
    loss=lambda config: nn.MSELoss(),
)
"""


class Files:
    def __init__(self, root: Path) -> None:
        self.broken = root / "broken.py"
        self.broken.write_text("import stepscope\n\ndef make_data(config:\n    return None\n")
        self.raises = root / "raises.py"
        self.raises.write_text(
            "import stepscope\n\nraise RuntimeError('the data folder /nowhere is missing')\n"
        )
        self.folder = root / "more"
        self.folder.mkdir()
        self.wave = self.folder / "wave.py"
        self.wave.write_text(WAVE)
        self.probe = self.folder / "probe.py"
        self.probe.write_text(PROBE)
        self.empty = self.folder / "empty.py"
        self.empty.write_text("X = 1\n")
        (self.folder / "_helpers.py").write_text("raise SystemExit('never imported')\n")
        (self.folder / "notes.txt").write_text("not Python\n")
        self.missing = root / "missing.py"

    def args(self) -> list[str]:
        paths = [RIPPLE, self.broken, self.raises, self.folder, self.missing]
        return [arg for path in paths for arg in ("--experiments", str(path))]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("experiments"))


@pytest.fixture(scope="module")
def server(files: Files, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("server") / "data", free_port(), args=files.args())
    running.start()
    yield running
    running.stop()


def started_log(server: Server) -> str:
    return server.log.read_text()


def test_the_server_starts_and_names_each_broken_file_with_its_error(
    server: Server, files: Files
) -> None:
    log = started_log(server)
    problems = [line for line in log.splitlines() if "could not load experiments" in line]
    assert len(problems) == 4, log
    said = {
        files.broken: "SyntaxError: ",
        files.raises: "RuntimeError: the data folder /nowhere is missing (line 3)",
        files.empty: "defines no stepscope.Experiment at module level",
        files.missing: "no such file or folder",
    }
    for path, error in said.items():
        line = next((p for p in problems if f"{path}: " in p or f"{path.resolve()}: " in p), "")
        assert error in line, (path, problems)
    syntax = next(p for p in problems if str(files.broken) in p)
    assert "(line 3)" in syntax  # where the unclosed parenthesis is found
    assert "_helpers" not in log and "notes.txt" not in log  # private files and text: skipped


def test_the_loaded_experiments_are_listed_with_their_source(server: Server, files: Files) -> None:
    listed = {e["name"]: e for e in call(server, "api/experiments")}
    assert listed["ripple"]["source"] == str(RIPPLE.resolve())
    assert listed["ripple"]["title"] == "Ripple (your own experiment)"
    assert listed["ripple"]["task"] == "regression" and listed["ripple"]["models"] == []
    assert listed["ripple"]["settings"] == [
        "seed",
        "n_samples",
        "noise",
        "validation_fraction",
        "batch_size",
    ]
    assert listed["ripple"]["default_config"]["n_samples"] == 600
    assert listed["wave"]["source"] == str(files.wave.resolve())
    assert listed["seed-linear"]["source"] == "built-in"
    names = list(listed)
    assert names[: names.index("wide-mlp") + 1] == [  # the built-in ones first, in menu order
        "seed-linear",
        "surface-2d",
        "circle",
        "xor",
        "gaussians",
        "moons",
        "spiral",
        "sine",
        "digits",
        "wide-mlp",
    ]
    assert set(names[names.index("wide-mlp") + 1 :]) == {"ripple", "wave", "probe"}


def train_until(server: Server, run_id: str, steps: int) -> list[float]:
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    deadline = time.monotonic() + 60
    while (run := call(server, f"api/runs/{run_id}"))["step"] < steps:
        assert run["state"] == "running", run
        assert time.monotonic() < deadline, f"only {run['step']} steps in 60 s"
        time.sleep(0.1)
    call(server, f"api/runs/{run_id}/commands/pause", "POST")
    losses: list[float] = call(server, f"api/runs/{run_id}/scalars")["loss"]
    return losses


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_a_run_of_the_ripple_trains_in_its_worker(server: Server) -> None:
    run_id = ready_run(server, {"experiment": "ripple"})
    run = call(server, f"api/runs/{run_id}")
    assert run["title"] == "Ripple (your own experiment)"
    assert run["config"]["optimizer"]["name"] == "adam" and run["config"]["batch_size"] == 32
    losses = train_until(server, run_id, 600)
    assert len(losses) >= 600
    first, last = mean(losses[:50]), mean(losses[-50:])
    assert last < 0.5 * first, (first, last)
    points = call(server, f"api/runs/{run_id}/points")
    assert points["dims"] == 2 and len(points["train"]["inputs"]) == 450  # 600, a quarter held out


def test_the_views_work_on_a_file_experiment(server: Server) -> None:
    """The ripple's worker pictures it as it does a built-in experiment: its output over the plane
    (a value: regression), its hidden units, its network, and an evaluation without accuracy."""
    run_id = ready_run(server, {"experiment": "ripple"})
    with connect(f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}", open_timeout=30) as ws:
        call(server, f"api/runs/{run_id}/commands/step", "POST")
        deadline = time.monotonic() + 30
        while True:
            message = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(message, bytes):
                header = SnapshotHeader.model_validate(decode_snapshot(message)[0])
                if header.step == 1:
                    break
    views, evaluation = header.views, header.evaluation
    assert views is not None and views.plane is not None and views.network is not None
    assert views.plane.output_kind == "value"
    assert [(u.layer, u.unit) for u in views.plane.units][:2] == [(1, 0), (1, 1)]
    assert len(views.plane.units) == 16  # the first 8 of each tanh layer
    assert [layer.units for layer in views.network.layers] == [2, 16, 16, 1]
    assert evaluation is not None and evaluation.step == 1
    assert evaluation.validation_loss is not None and evaluation.validation_accuracy is None


def test_an_experiment_from_a_folder_trains_too(server: Server) -> None:
    run_id = ready_run(server, {"experiment": "wave"})
    losses = train_until(server, run_id, 300)
    assert mean(losses[-30:]) < 0.5 * mean(losses[:30])


def refused(server: Server, path: str, method: str, body: object) -> tuple[int, str]:
    try:
        call(server, path, method, body)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    raise AssertionError(f"{method} {path} was accepted")


def test_code_is_never_loaded_from_a_request(server: Server, files: Files) -> None:
    for name in (str(files.wave), "examples/ripple.py", "os"):
        status, text = refused(server, "api/runs", "POST", {"experiment": name})
        assert status == 422 and "no experiment is named" in text
    status, text = refused(server, "api/runs", "POST", {"experiment": "ripple", "path": "x.py"})
    assert status == 422 and "Extra inputs are not permitted" in text
    # no route takes an experiment in: the list is read-only
    status, _ = refused(server, "api/experiments", "POST", {"path": str(files.wave)})
    assert status == 405
    paths = call(server, "openapi.json")["paths"]
    assert list(paths["/api/experiments"]) == ["get"]
    assert not [p for p in paths if "load" in p or "upload" in p or "file" in p]


def test_a_worker_runs_torch_on_one_thread(server: Server, files: Files) -> None:
    """The server, the browser and the worker share the machine's cores: a worker whose torch
    waits on a second intra-op thread that the busy cores do not schedule runs the small models
    10–30× slower (BENCHMARKS.md, bench/experiments.py --threads 1)."""
    ready_run(server, {"experiment": "probe"})
    assert files.probe.with_suffix(".threads").read_text() == "1"
