"""GET /api/runs/{id}/export?format=csv|json|tensorboard: every step's scalars as CSV and JSON,
checked against docs/protocol.md's plain-torch recipe, and the whole run as TensorBoard event
files that TensorBoard's own reader loads, every scalar and every recorded histogram found."""

from __future__ import annotations

import csv
import io
import json
import math
import tarfile
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from app.contract.health import HealthPoint
from app.contract.views import Evaluation
from app.settings import Settings
from app.store.history import History
from tests.api.test_recipe import recipe
from tests.conftest import Stream, new_run, step_n

STEPS = 30
SEED_RUN = {"experiment": "seed-linear", "seed": 7, "n_samples": 100, "batch_size": 32}


def by_hand() -> list[float]:
    """The seed run's losses from plain torch (docs/protocol.md's recipe), not from the app."""
    losses: list[float] = recipe()["losses"](
        "seed-linear",
        make_optimizer=lambda params: torch.optim.SGD(params, lr=0.01),
        steps=STEPS,
        accumulate=1,
        seed=7,
        n_samples=100,
        batch_size=32,
        noise=0.1,
    )
    return losses


def stepped_run(client: TestClient) -> str:
    run_id = new_run(client, **SEED_RUN)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        step_n(client, Stream(ws), run_id, STEPS)
    return run_id


@pytest.mark.slow  # a worker steps a real run
def test_csv_and_json_hold_every_steps_loss(client: TestClient) -> None:
    run_id = stepped_run(client)
    expected = by_hand()
    response = client.get(f"/api/runs/{run_id}/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="run-{run_id}.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["step", "loss"]
    assert [int(row[0]) for row in rows[1:]] == list(range(1, STEPS + 1))
    assert [float(row[1]) for row in rows[1:]] == pytest.approx(expected, rel=1e-6)

    exported = client.get(f"/api/runs/{run_id}/export", params={"format": "json"})
    assert exported.headers["content-disposition"].endswith(f'run-{run_id}.json"')
    body = exported.json()
    assert body["run"]["id"] == run_id and body["steps"] == list(range(1, STEPS + 1))
    assert list(body["scalars"]) == ["loss"]
    assert body["scalars"]["loss"] == pytest.approx(expected, rel=1e-6)
    # the two formats hold the same numbers, to the last bit
    assert [float(row[1]) for row in rows[1:]] == body["scalars"]["loss"]


@pytest.mark.parametrize("params", [{}, {"format": "xlsx"}, {"format": ""}])
def test_an_unknown_format_is_refused(
    client: TestClient, settings: Settings, params: dict[str, str]
) -> None:
    run_id = sparse_history(settings)
    response = client.get(f"/api/runs/{run_id}/export", params=params)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "format"


def sparse_history(settings: Settings) -> str:
    """A run written into the history by hand: losses with a NaN and an Inf, a racer, a value an
    attached script logged at some steps only, evaluations every 2 steps, one health point."""
    history = History(settings.database)
    history.add_run("hand", "seed-linear", {"experiment": "seed-linear"}, "stopped")
    history.append_scalars("hand", 1, [1.0, 0.5, math.nan, math.inf, 0.25])
    history.append_logged("hand", 1, {"accuracy": [None, 0.5, None, 0.75, None]})
    for step in (2, 4):
        history.add_evaluation(
            "hand",
            Evaluation(
                step=step,
                train_loss=1 / step,
                validation_loss=2 / step,
                train_accuracy=None,
                validation_accuracy=None,
            ),
        )
    history.add_health("hand", health_point(step=4), thin=False)
    return "hand"


def health_point(step: int) -> HealthPoint:
    counts = [0] * 64
    counts[0], counts[63] = 3, 7
    layer = {
        "tensor": "weight",
        "value_norm": 1.5,
        "grad_norm": 0.125,
        "update_norm": 0.001,
        "update_ratio": 0.0625,
        "distributions": [
            {"field": "value", "low": -2.0, "high": 6.0, "counts": counts, "nonfinite": 0}
        ],
    }
    overhead = {"budget": 0.05, "share": 0.01, "snapshot_ms": 1.0, "interval_s": 0.5}
    return HealthPoint.model_validate(
        {"step": step, "grad_norm": 0.125, "layers": [layer], "units": [], "overhead": overhead}
    )


EXPECTED: dict[str, dict[int, float]] = {
    "loss": {1: 1.0, 2: 0.5, 3: math.nan, 4: math.inf, 5: 0.25},
    "logged/accuracy": {2: 0.5, 4: 0.75},
    "evaluation/train_loss": {2: 0.5, 4: 0.25},
    "evaluation/validation_loss": {2: 1.0, 4: 0.5},
}


def test_sparse_series_and_non_finite_values_in_csv_and_json(
    client: TestClient, settings: Settings
) -> None:
    run_id = sparse_history(settings)
    text = client.get(f"/api/runs/{run_id}/export?format=csv").text
    assert text.splitlines() == [
        "step,loss,logged/accuracy,evaluation/train_loss,evaluation/validation_loss",
        "1,1.0,,,",
        "2,0.5,0.5,0.5,1.0",
        "3,nan,,,",
        "4,inf,0.75,0.25,0.5",
        "5,0.25,,,",
    ]
    body = json.loads(client.get(f"/api/runs/{run_id}/export?format=json").text)
    assert body["steps"] == [1, 2, 3, 4, 5]
    assert body["scalars"]["loss"] == [1.0, 0.5, "NaN", "Infinity", 0.25]
    assert body["scalars"]["logged/accuracy"] == [None, 0.5, None, 0.75, None]
    assert body["scalars"]["evaluation/validation_loss"] == [None, 1.0, None, 0.5, None]


def read_tensorboard(archive: bytes, into: Path) -> EventAccumulator:
    into.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    (folder,) = into.iterdir()
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    return events.Reload()


def scalars_of(events: EventAccumulator, tag: str) -> dict[int, float]:
    return {event.step: event.value for event in events.Scalars(tag)}


def test_tensorboard_reads_every_scalar_and_histogram(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    run_id = sparse_history(settings)
    response = client.get(f"/api/runs/{run_id}/export?format=tensorboard")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    assert response.headers["content-disposition"].endswith(f'run-{run_id}.tensorboard.tar.gz"')
    events = read_tensorboard(response.content, tmp_path / "tensorboard")
    tags: Any = events.Tags()
    assert set(tags["scalars"]) == {
        *EXPECTED,
        "health/weight/grad_norm",
        "health/weight/update_ratio",
    }
    for tag, expected in EXPECTED.items():
        assert scalars_of(events, tag) == pytest.approx(expected, nan_ok=True), tag
    assert scalars_of(events, "health/weight/update_ratio") == {4: 0.0625}
    (histogram,) = events.Histograms("weight/value")
    value = histogram.histogram_value
    assert histogram.step == 4 and (value.min, value.max, value.num) == (-2.0, 6.0, 10)
    # 64 buckets of width 8/64 over [-2, 6]: the first ends at -1.875, the last at 6
    assert value.bucket_limit[0] == -1.875 and value.bucket_limit[-1] == 6.0
    assert value.bucket[0] == 3 and value.bucket[-1] == 7 and sum(value.bucket) == 10


@pytest.mark.slow  # a worker steps a real run
def test_a_trained_run_in_tensorboard_has_every_steps_loss(
    client: TestClient, tmp_path: Path
) -> None:
    run_id = stepped_run(client)
    archive = client.get(f"/api/runs/{run_id}/export?format=tensorboard").content
    events = read_tensorboard(archive, tmp_path / "tensorboard")
    loss = scalars_of(events, "loss")
    assert sorted(loss) == list(range(1, STEPS + 1))
    assert [loss[step] for step in sorted(loss)] == pytest.approx(by_hand(), rel=1e-6)
    # the Step command's snapshots came with health points: their distributions are there
    assert any("/" in tag for tag in events.Tags()["histograms"])
