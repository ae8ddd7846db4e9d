"""Issue 9's REST and stream additions, through the real app: the experiment list with what the page
may change, the model builder's bounds, a run's points, refused builder configs, and the
`evaluation` events, live and replayed on reconnect."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from app.contract.events import Evaluations
from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from tests.conftest import Stream, new_run, step_n

BUILDER = [
    "seed",
    "n_samples",
    "noise",
    "validation_fraction",
    "batch_size",
    "architecture",
    "loss",
]
CLASSIC = ["seed", "n_samples", "noise", "batch_size"]
# name: (task, settings, losses, models)
CATALOGUE: dict[str, tuple[str, list[str], list[str], list[str]]] = {
    "seed-linear": ("regression", CLASSIC, [], []),
    "surface-2d": ("regression", CLASSIC, [], []),
    "circle": ("binary", BUILDER, ["bce", "mse"], ["mlp"]),
    "xor": ("binary", BUILDER, ["bce", "mse"], ["mlp"]),
    "gaussians": ("binary", BUILDER, ["bce", "mse"], ["mlp"]),
    "moons": ("binary", BUILDER, ["bce", "mse"], ["mlp"]),
    "spiral": ("binary", BUILDER, ["bce", "mse"], ["mlp"]),
    "sine": ("regression", BUILDER, ["mse"], ["mlp"]),
    "digits": (
        "classes",
        ["seed", "validation_fraction", "batch_size", "architecture", "loss"],
        ["cross_entropy"],
        ["mlp", "cnn"],
    ),
    "wide-mlp": (
        "classes",
        ["seed", "n_samples", "noise", "validation_fraction", "batch_size"],
        ["cross_entropy"],
        [],
    ),
}


def test_the_experiments_say_their_task_settings_losses_models_and_source(
    client: TestClient,
) -> None:
    listed = client.get("/api/experiments").json()
    assert [e["name"] for e in listed] == list(CATALOGUE)
    for experiment in listed:
        task, settings, losses, models = CATALOGUE[experiment["name"]]
        assert experiment["task"] == task, experiment["name"]
        assert experiment["settings"] == settings, experiment["name"]
        assert experiment["losses"] == losses, experiment["name"]
        assert experiment["models"] == models, experiment["name"]
        assert experiment["source"] == "built-in"
        # the builder's input features apply to the 2-D sets alone
        plane = experiment["name"] in ("circle", "xor", "gaussians", "moons", "spiral")
        assert experiment["features"] is plane, experiment["name"]
        assert experiment["title"] and experiment["description"]


def test_an_experiments_default_config_is_what_its_name_alone_runs(client: TestClient) -> None:
    spiral = next(e for e in client.get("/api/experiments").json() if e["name"] == "spiral")
    defaults = spiral["default_config"]
    assert defaults["optimizer"]["name"] == "adam" and defaults["steps_per_second"] is None
    assert defaults["architecture"]["hidden"] == [16, 16, 8] and defaults["loss"] == "bce"
    run = client.post("/api/runs", json={"experiment": "spiral"})
    assert run.status_code == 201, run.text
    assert run.json()["config"] == defaults
    # and the default config sent back whole is accepted as it is
    again = client.post("/api/runs", json=defaults)
    assert again.status_code == 201, again.text
    assert again.json()["config"] == defaults


def test_the_builder_says_what_it_may_build(client: TestClient) -> None:
    assert client.get("/api/builder").json() == {
        "max_hidden_layers": 6,
        "min_units": 1,
        "max_units": 256,
        "activations": ["relu", "tanh", "sigmoid", "gelu", "identity"],
        "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin x1", "sin x2"],
        "losses": {
            "mse": "MSELoss",
            "bce": "BCEWithLogitsLoss",
            "cross_entropy": "CrossEntropyLoss",
        },
    }


# config, inputs per sample, training samples, validation samples (None: nothing held out)
POINTS: list[tuple[dict[str, Any], int, int, int | None]] = [
    ({"experiment": "spiral"}, 2, 350, 150),
    ({"experiment": "moons", "n_samples": 200, "validation_fraction": 0.25}, 2, 150, 50),
    ({"experiment": "circle", "validation_fraction": 0}, 2, 500, None),
    ({"experiment": "sine"}, 1, 210, 90),
]


def test_a_runs_points_are_the_samples_it_trains_on(client: TestClient) -> None:
    # one app for all four runs: a worker process each, and one shutdown to wait for
    for config, dims, train, validation in POINTS:
        run_id = new_run(client, **config)
        response = client.get(f"/api/runs/{run_id}/points")
        assert response.status_code == 200, response.text
        points = response.json()
        assert points["dims"] == dims
        assert len(points["train"]["inputs"]) == len(points["train"]["targets"]) == train
        assert all(len(row) == dims for row in points["train"]["inputs"])
        if validation is None:
            assert points["validation"] is None
        else:
            assert len(points["validation"]["inputs"]) == validation
            assert len(points["validation"]["targets"]) == validation
        # the very samples the run's loop trains on, made again from its seed
        made = ExperimentConfig.model_validate({**config, "steps_per_second": None})
        data = TrainingLoop(made).data
        torch.testing.assert_close(torch.tensor(points["train"]["inputs"]), data.inputs)
        torch.testing.assert_close(
            torch.tensor(points["train"]["targets"]), data.targets.reshape(-1).float()
        )
        task = "regression" if config["experiment"] == "sine" else "binary"
        assert points["task"] == task
        if task == "binary":
            assert set(points["train"]["targets"]) == {0.0, 1.0}


def test_runs_whose_inputs_are_not_one_or_two_numbers_have_no_points(client: TestClient) -> None:
    for experiment in ("seed-linear", "surface-2d", "digits"):
        run_id = new_run(client, experiment=experiment)
        response = client.get(f"/api/runs/{run_id}/points")
        assert response.status_code == 404, experiment
        assert response.json()["detail"] == (
            "only runs whose inputs are one or two numbers have points"
        )
    assert client.get("/api/runs/nope/points").status_code == 404


SPIRAL = {"experiment": "spiral"}


@pytest.mark.parametrize(
    ("config", "field", "sentence"),
    [
        ({**SPIRAL, "architecture": {"hidden": [2] * 7}}, "hidden", "at most 6 items"),
        ({**SPIRAL, "architecture": {"hidden": [4, 0]}}, "hidden", "greater than or equal to 1"),
        ({**SPIRAL, "architecture": {"hidden": [257]}}, "hidden", "less than or equal to 256"),
        (
            {**SPIRAL, "architecture": {"activation": "swish"}},
            "activation",
            "Input should be 'relu', 'tanh', 'sigmoid', 'gelu' or 'identity'",
        ),
        ({**SPIRAL, "architecture": {"features": []}}, "features", "at least 1 item"),
        ({**SPIRAL, "architecture": {"features": ["x3"]}}, "features", "Input should be 'x1'"),
        ({**SPIRAL, "architecture": {"kind": "cnn"}}, None, "the experiment spiral builds a mlp"),
        (
            {**SPIRAL, "loss": "cross_entropy"},
            None,
            "the experiment spiral takes the losses bce, mse",
        ),
        ({**SPIRAL, "loss": "hinge"}, "loss", "Input should be 'mse', 'bce' or 'cross_entropy'"),
        ({"experiment": "sine", "loss": "bce"}, None, "the experiment sine takes the losses mse"),
        ({"experiment": "digits", "noise": 0.3}, None, "does not let the page change noise"),
        ({"experiment": "ripple-of-nowhere"}, "experiment", "no experiment is named"),
        (
            {**SPIRAL, "validation_fraction": 0.95},
            "validation_fraction",
            "less than or equal to 0.9",
        ),
    ],
)
def test_a_builder_config_the_experiment_cannot_run_is_a_422_with_a_sentence(
    client: TestClient, config: dict[str, Any], field: str | None, sentence: str
) -> None:
    response = client.post("/api/runs", json=config)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert sentence in problem["msg"], problem
    assert problem["field"] == field, problem
    assert not problem["msg"].startswith("Value error")  # a sentence for people


def live_points(stream: Stream) -> list[dict[str, Any]]:
    return [
        point
        for event in stream.events
        if event["type"] == "evaluation" and not event["history"]
        for point in event["points"]
    ]


def test_evaluation_events_live_and_replayed_on_reconnect(client: TestClient) -> None:
    config = {"experiment": "spiral", "seed": 3}
    run_id = new_run(client, **config)
    steps = 4
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, steps)
        stream.drain()
    for event in stream.events:
        if event["type"] == "evaluation":
            Evaluations.model_validate(event)
    live = live_points(stream)
    assert [p["step"] for p in live] == list(range(1, steps + 1))  # a Step shows its evaluation
    assert all(len(e["points"]) == 1 for e in stream.events if e["type"] == "evaluation")
    for point in live:
        assert 0 <= point["train_accuracy"] <= 1 and 0 <= point["validation_accuracy"] <= 1
        assert math.isfinite(point["train_loss"]) and math.isfinite(point["validation_loss"])

    # the numbers, against the loop replayed here and BCE with logits written out by hand
    loop = TrainingLoop(ExperimentConfig.model_validate({**config, "steps_per_second": None}))
    for point in live:
        loop.run_step()
        with torch.no_grad():
            z = loop.model(loop.data.inputs[:512]).reshape(-1).double()
        y = loop.data.targets[:512].reshape(-1).double()
        by_hand = float((z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean())
        assert point["train_loss"] == pytest.approx(by_hand, rel=1e-5)
        assert point["train_accuracy"] == pytest.approx(
            float(((z > 0).double() == y).double().mean())
        )

    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        replay = Stream(ws)
        kinds = [replay.next()["type"] for _ in range(5)]
    # hello, the loss history, the evaluation history, the health points, the latest snapshot
    assert kinds[:4] == ["hello", "scalars", "evaluation", "health"]
    assert replay.snapshots and replay.snapshots[-1][0]["step"] == steps
    (history,) = [e for e in replay.events if e["type"] == "evaluation"]
    Evaluations.model_validate(history)
    assert history["history"] is True
    assert history["points"] == live
    # the snapshot carries the same evaluation as the last point
    assert replay.snapshots[-1][0]["evaluation"] == live[-1]


def test_the_classic_experiments_send_no_evaluation(client: TestClient) -> None:
    run_id = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, 2)
        stream.drain()
    assert not [e for e in stream.events if e["type"] == "evaluation"]
    header = stream.snapshots[-1][0]
    assert header["views"] is None and header["evaluation"] is None
