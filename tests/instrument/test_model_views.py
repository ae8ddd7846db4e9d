"""Issue 9's evaluation and pictures of the model, against torch computed by hand in this file.

The evaluation (loss and accuracy on the training and validation samples, the confusion counts)
and the pictures (the plane's output and each hidden unit over the documented grid, the network's
links, the first layer's images, the fitted curve) are read back from the float32 block the way a
browser reads them, and compared with what the test computes itself. Watching must change nothing:
parameters, gradients, optimizer state, torch's RNG and the model's mode are the same afterwards,
and a run with pictures has bit-identical losses to one without.
"""

from __future__ import annotations

import contextlib
import copy
import math
import multiprocessing
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from app.contract.snapshot import SnapshotHeader
from app.contract.worker import Control, ScalarsBatch, SnapshotFrame, WorkerMessage
from app.engine.experiments import Data, ExperimentConfig, Task
from app.engine.loop import TrainingLoop
from app.instrument.evaluation import EVALUATION_LIMIT, Evaluator
from app.instrument.pictures import Block, Pictures
from app.runs.state import Command
from app.runs.worker import Session
from app.stream.protocol import decode_snapshot
from tests.instrument.decode import as_floats

# a step with pictures takes well under a second: a hang is a failure, not a 5-minute wait
pytestmark = pytest.mark.timeout(60)

DIGITS_CNN = {"experiment": "digits", "architecture": {"kind": "cnn"}}


# ---------------------------------------------------------------- the oracle, written out by hand


def bce_with_logits(z: torch.Tensor, y: torch.Tensor) -> float:
    z, y = z.double().reshape(-1), y.double().reshape(-1)
    return float((z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean())


def cross_entropy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    total = 0.0
    for row, label in zip(scores.double().tolist(), labels.tolist(), strict=True):
        top = max(row)
        total += top + math.log(sum(math.exp(s - top) for s in row)) - row[label]
    return total / len(labels)


def mse(out: torch.Tensor, y: torch.Tensor) -> float:
    return float(((out.double() - y.double()) ** 2).mean())


def binary_accuracy(out: torch.Tensor, y: torch.Tensor, threshold: float) -> float:
    hits = [
        (o > threshold) == (t == 1.0)
        for o, t in zip(out.reshape(-1).tolist(), y.reshape(-1).tolist(), strict=True)
    ]
    return float(sum(hits)) / len(hits)


def argmax(row: list[float]) -> int:
    return max(range(len(row)), key=lambda i: row[i])


def grid_of(x1: tuple[float, float], x2: tuple[float, float], n: int) -> torch.Tensor:
    """The documented layout: row i is x₂ = lo + i·(hi − lo)/(n − 1) going up, column j along x₁."""
    points = []
    for i in range(n):
        for j in range(n):
            points.append(
                [
                    x1[0] + j * (x1[1] - x1[0]) / (n - 1),
                    x2[0] + i * (x2[1] - x2[0]) / (n - 1),
                ]
            )
    return torch.tensor(points)


def read(floats: np.ndarray[Any, Any], span: Any) -> torch.Tensor:
    offset, length = span
    return torch.from_numpy(floats[offset : offset + length].copy())


# ---------------------------------------------------------------- evaluation


def identity_on_x1() -> nn.Module:
    """A model whose output is its first input: outputs chosen by the test."""
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0]]))
        model.bias.zero_()
    return model


def column(values: list[float]) -> torch.Tensor:
    return torch.tensor([[v, 0.0] for v in values])


def test_binary_loss_and_accuracy_with_logits_and_with_mse() -> None:
    # outputs between 0 and ½ are class 1 as logits (BCE), class 0 as values (MSE on 0/1)
    outputs = [-0.4, 0.3, 0.45, 0.7, -0.1, 0.55]
    targets = torch.tensor([[0.0], [1.0], [1.0], [1.0], [0.0], [1.0]])
    validation_outputs = [0.2, -2.0, 3.0, 0.6]
    validation_targets = torch.tensor([[0.0], [0.0], [1.0], [0.0]])
    data = Data(column(outputs), targets, column(validation_outputs), validation_targets)
    model = identity_on_x1()
    z, vz = torch.tensor(outputs), torch.tensor(validation_outputs)

    logits = Evaluator(data, "binary", nn.BCEWithLogitsLoss()).evaluate(model, step=7)
    assert logits.step == 7
    assert logits.train_loss == pytest.approx(bce_with_logits(z, targets), rel=1e-6)
    assert logits.validation_loss == pytest.approx(
        bce_with_logits(vz, validation_targets), rel=1e-6
    )
    assert logits.train_accuracy == binary_accuracy(z, targets, 0.0) == 1.0
    assert logits.validation_accuracy == binary_accuracy(vz, validation_targets, 0.0) == 0.5

    values = Evaluator(data, "binary", nn.MSELoss()).evaluate(model, step=7)
    assert values.train_loss == pytest.approx(mse(z, targets.reshape(-1)), rel=1e-6)
    assert values.train_accuracy == pytest.approx(binary_accuracy(z, targets, 0.5))
    assert values.train_accuracy == pytest.approx(4 / 6)
    assert values.validation_accuracy == binary_accuracy(vz, validation_targets, 0.5) == 0.75


def test_classes_loss_accuracy_and_confusion_counts() -> None:
    generator = torch.Generator().manual_seed(11)
    inputs = torch.randn(60, 5, generator=generator)
    labels = torch.randint(0, 4, (60,), generator=generator)
    data = Data(inputs[:35], labels[:35], inputs[35:], labels[35:])
    torch.manual_seed(2)
    model = nn.Linear(5, 4)
    evaluator = Evaluator(data, "classes", nn.CrossEntropyLoss())
    point = evaluator.evaluate(model, step=3)

    with torch.no_grad():
        train_scores, validation_scores = model(inputs[:35]), model(inputs[35:])
    assert point.train_loss == pytest.approx(cross_entropy(train_scores, labels[:35]), rel=1e-5)
    assert point.validation_loss == pytest.approx(
        cross_entropy(validation_scores, labels[35:]), rel=1e-5
    )
    predicted = [argmax(row) for row in validation_scores.tolist()]
    truth = labels[35:].tolist()
    counts = [[0] * 4 for _ in range(4)]
    for t, p in zip(truth, predicted, strict=True):
        counts[t][p] += 1
    assert evaluator.confusion == counts
    assert sum(map(sum, counts)) == 25
    assert point.validation_accuracy == pytest.approx(
        sum(t == p for t, p in zip(truth, predicted, strict=True)) / 25
    )
    train_predicted = [argmax(row) for row in train_scores.tolist()]
    assert point.train_accuracy == pytest.approx(
        sum(t == p for t, p in zip(labels[:35].tolist(), train_predicted, strict=True)) / 35
    )


def test_regression_has_no_accuracy_and_no_validation_when_nothing_is_held_out() -> None:
    generator = torch.Generator().manual_seed(5)
    inputs, targets = (
        torch.randn(20, 1, generator=generator),
        torch.randn(20, 1, generator=generator),
    )
    model = nn.Linear(1, 1)
    point = Evaluator(Data(inputs, targets), "regression", nn.MSELoss()).evaluate(model, step=0)
    with torch.no_grad():
        assert point.train_loss == pytest.approx(mse(model(inputs), targets), rel=1e-6)
    assert point.train_accuracy is None and point.validation_accuracy is None
    assert point.validation_loss is None


def test_at_most_the_first_samples_of_each_split_are_measured() -> None:
    n = EVALUATION_LIMIT + 88
    outputs = [1.0] * EVALUATION_LIMIT + [-1.0] * 88  # the last 88 would be wrong
    data = Data(column(outputs), torch.ones(n, 1))
    point = Evaluator(data, "binary", nn.BCEWithLogitsLoss()).evaluate(identity_on_x1(), step=1)
    assert point.train_accuracy == 1.0
    assert point.train_loss == pytest.approx(math.log1p(math.exp(-1.0)), rel=1e-6)


# ---------------------------------------------------------------- watching changes nothing


def trained(config: dict[str, Any], steps: int = 3) -> TrainingLoop:
    loop = TrainingLoop(ExperimentConfig.model_validate(config))
    for _ in range(steps):
        loop.run_step()
    return loop


def pictures_of(loop: TrainingLoop) -> Pictures:
    experiment = loop.experiment
    return Pictures(loop.model, loop.data, experiment.task, loop.loss_fn, experiment.image_shape)


def everything_of(loop: TrainingLoop) -> dict[str, Any]:
    return {
        "parameters": [p.detach().clone() for p in loop.model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in loop.model.parameters()],
        "optimizer": copy.deepcopy(loop.optimizer.state_dict()),
        "rng": torch.get_rng_state(),
        "training": loop.model.training,
    }


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("config", [{"experiment": "spiral"}, DIGITS_CNN, {"experiment": "sine"}])
@pytest.mark.parametrize("training", [True, False])
def test_evaluating_and_picturing_change_nothing(config: dict[str, Any], training: bool) -> None:
    loop = trained(config)
    loop.model.train(training)
    before = everything_of(loop)
    evaluator = Evaluator(loop.data, loop.experiment.task, loop.loss_fn)
    evaluator.evaluate(loop.model, loop.step)
    updates = {p: torch.ones_like(p) for p in loop.model.parameters()}
    pictures_of(loop).render(Block(0), updates, evaluator.confusion)
    after = everything_of(loop)
    for key in before:
        assert same(before[key], after[key]), key


class Harness:
    """A worker Session whose messages are read through a real pipe by a thread (a snapshot with
    pictures is larger than a pipe's buffer: a reader must be there, as the server is)."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.inbox, out = multiprocessing.Pipe()
        self.out = out
        self.session = Session(config, out)
        self.received: list[WorkerMessage] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                self.received.append(self.inbox.recv())

    def drain(self) -> list[WorkerMessage]:
        """Everything sent so far: the session marks the end with a message of its own."""
        self.out.send(None)
        deadline = time.monotonic() + 10
        while not self.received or self.received[-1] is not None:
            assert time.monotonic() < deadline, "the reader fell behind"
            time.sleep(0.001)
        self.received.pop()
        return self.received

    def train(self, steps: int) -> None:
        """Steps as the running loop takes them, with a snapshot (and its evaluation) due at
        every one."""
        for _ in range(steps):
            self.session.governor.next_at = -math.inf
            self.session.evaluation_governor.next_at = -math.inf
            self.session.train_step()
        self.session.flush()
        self.drain()

    def losses(self) -> list[float]:
        return [loss for m in self.received if isinstance(m, ScalarsBatch) for loss in m.loss]

    def snapshots(self) -> list[SnapshotFrame]:
        return [m for m in self.received if isinstance(m, SnapshotFrame)]

    def close(self) -> None:
        self.out.close()
        self.reader.join(timeout=5)
        self.inbox.close()


@pytest.fixture
def harnesses() -> Iterator[list[Harness]]:
    made: list[Harness] = []
    yield made
    for harness in made:
        harness.close()


@pytest.mark.parametrize("config", [{"experiment": "spiral"}, {"experiment": "digits"}])
def test_a_run_with_pictures_has_bit_identical_losses_to_one_without(
    config: dict[str, Any], harnesses: list[Harness]
) -> None:
    steps = 12
    validated = ExperimentConfig.model_validate(config)
    pictured, plain = Harness(validated), Harness(validated)
    harnesses += [pictured, plain]
    plain.session.evaluator = plain.session.pictures = None
    pictured.train(steps)
    plain.train(steps)
    assert len(pictured.snapshots()) == len(plain.snapshots()) == steps
    headers = [decode_snapshot(s.frame)[0] for s in pictured.snapshots()]
    assert all(h["views"] is not None and h["evaluation"] is not None for h in headers)
    assert all(decode_snapshot(s.frame)[0]["views"] is None for s in plain.snapshots())
    bare = TrainingLoop(validated)
    expected = [float(bare.run_step()) for _ in range(steps)]
    assert pictured.losses() == plain.losses() == expected  # exact, not approximately
    for a, b, c in zip(
        pictured.session.loop.model.parameters(),
        plain.session.loop.model.parameters(),
        bare.model.parameters(),
        strict=True,
    ):
        assert torch.equal(a, b) and torch.equal(b, c)


# ---------------------------------------------------------------- pictures


def rendered(loop: TrainingLoop, updates: Any = None) -> tuple[Any, np.ndarray[Any, Any]]:
    block = Block(0)
    views = pictures_of(loop).render(block, updates or {}, None)
    return views, as_floats(block.tobytes())


def margin(values: torch.Tensor) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    return low - 0.1 * (high - low), high + 0.1 * (high - low)


def test_the_plane_is_the_probability_over_the_documented_grid() -> None:
    loop = trained({"experiment": "spiral"}, steps=20)
    views, floats = rendered(loop)
    plane = views.plane
    assert plane is not None and plane.output_kind == "probability"
    assert views.curve is None and views.filters is None
    assert loop.data.validation_inputs is not None
    everything = torch.cat([loop.data.inputs, loop.data.validation_inputs])
    assert plane.x1 == pytest.approx(margin(everything[:, 0]))
    assert plane.x2 == pytest.approx(margin(everything[:, 1]))
    grid = grid_of(plane.x1, plane.x2, plane.n)
    with torch.no_grad():
        expected = torch.sigmoid(loop.model(grid)).reshape(-1)
    output = read(floats, plane.output)
    assert plane.n == 48 and len(output) == 48 * 48
    torch.testing.assert_close(output, expected, atol=2e-6, rtol=1e-5)
    # the first row is the bottom of the plane (x₂ low), the first column its left (x₁ low)
    with torch.no_grad():
        corner = torch.sigmoid(loop.model(torch.tensor([[plane.x1[1], plane.x2[0]]])))
    assert float(output[47]) == pytest.approx(float(corner), abs=1e-5)


def test_each_unit_map_is_its_hidden_activation_computed_by_hand() -> None:
    loop = trained({"experiment": "spiral"}, steps=20)
    views, floats = rendered(loop)
    plane = views.plane
    assert plane.unit_n == 20
    grid = grid_of(plane.x1, plane.x2, plane.unit_n)
    x1, x2 = grid[:, 0], grid[:, 1]
    hidden = torch.stack([x1, x2, torch.sin(x1), torch.sin(x2)], dim=1)  # the spiral's features
    linears = [m for m in loop.model.modules() if isinstance(m, nn.Linear)]
    by_hand = []
    with torch.no_grad():
        for linear in linears[:-1]:
            hidden = torch.tanh(hidden @ linear.weight.T + linear.bias)
            by_hand.append(hidden)
    expected = [
        (layer, unit) for layer, h in enumerate(by_hand, 1) for unit in range(min(8, h.shape[1]))
    ]
    assert [(u.layer, u.unit) for u in plane.units] == expected  # 8 + 8 + 8 of 16, 16, 8
    for unit_map in plane.units:
        torch.testing.assert_close(
            read(floats, unit_map.values),
            by_hand[unit_map.layer - 1][:, unit_map.unit],
            atol=2e-6,
            rtol=1e-5,
        )


@pytest.mark.parametrize(
    ("task", "loss", "kind"),
    [
        ("binary", nn.MSELoss(), "probability"),
        ("regression", nn.MSELoss(), "value"),
        ("classes", nn.CrossEntropyLoss(), "class"),
    ],
)
def test_the_plane_shows_what_the_task_predicts(task: Task, loss: nn.Module, kind: str) -> None:
    torch.manual_seed(0)
    outputs = 3 if task == "classes" else 1
    model = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, outputs))
    inputs = torch.tensor([[-1.0, 2.0], [3.0, -2.0], [0.5, 0.5]])
    data = Data(
        inputs, torch.zeros(3, dtype=torch.long) if task == "classes" else torch.zeros(3, 1)
    )
    block = Block(0)
    plane = Pictures(model, data, task, loss).render(block, {}, None).plane
    assert plane is not None and plane.output_kind == kind
    assert plane.x1 == pytest.approx((-1.4, 3.4)) and plane.x2 == pytest.approx((-2.4, 2.4))
    with torch.no_grad():
        out = model(grid_of(plane.x1, plane.x2, plane.n))
    expected = out.argmax(dim=1).float() if task == "classes" else out[:, 0]  # no sigmoid on MSE
    torch.testing.assert_close(read(as_floats(block.tobytes()), plane.output), expected)


def test_network_links_are_the_weights_gradients_and_updates_they_name() -> None:
    loop = trained({"experiment": "digits"}, steps=2)  # 64 → 32 → 10: links cut to 16 units
    updates = {p: torch.randn(p.shape) for p in loop.model.parameters()}
    views, floats = rendered(loop, updates)
    network = views.network
    assert network.shown == 16
    assert [(layer.name, layer.units, layer.labels) for layer in network.layers] == [
        ("input", 64, None),
        ("hidden 1", 32, None),
        ("output", 10, None),
    ]
    linears = dict(loop.model.named_parameters())
    assert [(link.parameter, link.rows, link.cols) for link in network.links] == [
        ("0.weight", 16, 16),
        ("2.weight", 10, 16),
    ]
    for link in network.links:
        weight = linears[link.parameter]
        rows, cols = link.rows, link.cols
        assert weight.grad is not None
        for span, full in (
            (link.value, weight),
            (link.grad, weight.grad),
            (link.update, updates[weight]),
        ):
            torch.testing.assert_close(
                read(floats, span).reshape(rows, cols), full.detach()[:rows, :cols]
            )


def test_network_of_a_plane_names_its_input_features_and_has_no_update_unrecorded() -> None:
    loop = TrainingLoop(ExperimentConfig(experiment="spiral"))
    views, _ = rendered(loop)
    network = views.network
    assert network.layers[0].labels == ["x1", "x2", "sin x1", "sin x2"]
    assert [layer.units for layer in network.layers] == [4, 16, 16, 8, 1]
    assert [link.parameter for link in network.links] == [
        "1.weight",
        "3.weight",
        "5.weight",
        "7.weight",
    ]
    assert all(link.grad is None and link.update is None for link in network.links)  # no step yet


def test_digits_filters_are_the_first_layers_rows_as_8x8_images() -> None:
    loop = trained({"experiment": "digits"}, steps=2)
    views, floats = rendered(loop)
    filters = views.filters
    assert (filters.parameter, filters.count, filters.height, filters.width) == (
        "0.weight",
        32,
        8,
        8,
    )
    torch.testing.assert_close(
        read(floats, filters.values).reshape(32, 8, 8),
        loop.model.get_parameter("0.weight").detach().reshape(32, 8, 8),
    )
    assert views.plane is None and views.curve is None


def test_cnn_filters_are_the_first_convolutions_kernels() -> None:
    loop = trained(DIGITS_CNN, steps=2)
    views, floats = rendered(loop)
    filters = views.filters
    conv = loop.model.get_submodule("features.0")
    assert isinstance(conv, nn.Conv2d)
    assert (filters.parameter, filters.count, filters.height, filters.width) == (
        "features.0.weight",
        8,
        3,
        3,
    )
    torch.testing.assert_close(
        read(floats, filters.values).reshape(8, 3, 3), conv.weight.detach()[:, 0]
    )
    # the diagram shows the linear head: its 64 inputs are the convolutions' features
    assert [link.parameter for link in views.network.links] == ["classifier.weight"]


def test_the_sine_curve_is_the_model_along_its_input() -> None:
    loop = trained({"experiment": "sine"}, steps=10)
    views, _ = rendered(loop)
    curve = views.curve
    assert views.plane is None and curve is not None and len(curve.x) == len(curve.y) == 120
    low, high = margin(loop.data.inputs[:, 0])
    x = torch.tensor([low + i * (high - low) / 119 for i in range(120)])
    torch.testing.assert_close(torch.tensor(curve.x), x, atol=1e-5, rtol=1e-6)
    with torch.no_grad():
        expected = loop.model(x.unsqueeze(1)).reshape(-1)
    torch.testing.assert_close(torch.tensor(curve.y), expected, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- the snapshot a browser gets


def spans_of(header: dict[str, Any]) -> list[tuple[int, int]]:
    """Every span of the header: the tensors' views and histograms, and the pictures'."""
    spans = []
    for tensor in header["tensors"]:
        for field in tensor["fields"].values():
            if field is not None:
                spans.append(field["view"])
                if field.get("histogram"):
                    spans.append(field["histogram"])
    views = header["views"]
    if views["plane"]:
        spans.append(views["plane"]["output"])
        spans += [unit["values"] for unit in views["plane"]["units"]]
    if views["network"]:
        for link in views["network"]["links"]:
            spans += [link[key] for key in ("value", "grad", "update") if link[key] is not None]
    if views["filters"]:
        spans.append(views["filters"]["values"])
    return [tuple(span) for span in spans]


@pytest.mark.parametrize(
    "config",
    [
        {"experiment": "spiral"},
        {"experiment": "sine"},
        {"experiment": "digits"},
        DIGITS_CNN,
        {"experiment": "wide-mlp", "n_samples": 256},
    ],
)
def test_a_snapshot_with_views_validates_and_its_spans_cover_the_block_once(
    config: dict[str, Any], harnesses: list[Harness]
) -> None:
    harness = Harness(ExperimentConfig.model_validate(config))
    harnesses.append(harness)
    assert harness.session.handle(Control(command=Command.STEP))
    (frame,) = [m for m in harness.drain() if isinstance(m, SnapshotFrame)]
    header, data = decode_snapshot(frame.frame)
    validated = SnapshotHeader.model_validate(header)
    assert validated.views is not None and validated.evaluation is not None
    assert validated.evaluation.step == header["step"] == 1
    covered = [0] * len(data)
    for offset, length in spans_of(header):
        for i in range(offset, offset + length):
            covered[i] += 1
    assert covered == [1] * len(data)
    confusion = validated.views.confusion
    if validated.views.filters is not None or config["experiment"] == "wide-mlp":
        assert confusion is not None and len(confusion) == 10
        held_out = round(0.2 * validated_samples(config))
        assert sum(map(sum, confusion)) == min(held_out, EVALUATION_LIMIT)
    else:
        assert confusion is None


def validated_samples(config: dict[str, Any]) -> int:
    return ExperimentConfig.model_validate(config).n_samples


def test_a_model_with_dropout_is_measured_in_eval_mode_and_left_in_training_mode() -> None:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 1))
    model.train()
    generator = torch.Generator().manual_seed(9)
    inputs = torch.randn(30, 2, generator=generator)
    targets = (inputs[:, :1] > 0).float()
    data = Data(inputs, targets)
    rng = torch.get_rng_state()
    point = Evaluator(data, "binary", nn.BCEWithLogitsLoss()).evaluate(model, step=1)
    Pictures(model, data, "binary", nn.BCEWithLogitsLoss()).render(Block(0), {}, None)
    assert model.training and torch.equal(torch.get_rng_state(), rng)  # no dropout mask drawn
    first, last = model[0], model[3]
    assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
    with torch.no_grad():  # dropout off: eval mode is the identity
        z = torch.tanh(inputs @ first.weight.T + first.bias) @ last.weight.T + last.bias
    assert point.train_loss == pytest.approx(bce_with_logits(z, targets), rel=1e-5)
