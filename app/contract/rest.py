"""Response bodies of the REST API that are not a run: typed so that OpenAPI documents them."""

from __future__ import annotations

from pydantic import Field

from app.contract.base import Message
from app.contract.events import OptimizerMark, OwnPath, RaceSeries
from app.contract.run import RunInfo


class ScalarsExport(Message):
    """A run's whole history of losses, as the stream's history `scalars` carries it."""

    run: RunInfo
    first_step: int = Field(description="always 1: loss[i] is the loss of step i + 1")
    loss: list[float | None] = Field(
        description="every step's loss; non-finite ones as strings; null at a step an attached "
        "script logged no loss for (the server's own runs have one every step)"
    )
    race: list[RaceSeries] | None = Field(description="each racer's series, aligned with loss")
    path: OwnPath | None = Field(description="surface-2d: the run's own (w, b), aligned with loss")
    events: list[OptimizerMark] = Field(description="optimizer changes, in order")
    logged: dict[str, list[float | None]] | None = Field(
        default=None,
        description="an attached script's other scalars (watch.log(accuracy=…)): per name, the "
        "values of steps 1, 2, …; null where a step logged no value of that name. Null when "
        "nothing else was logged",
    )


class RunExport(Message):
    """A run's every scalar, step by step (GET /api/runs/{id}/export?format=json); the CSV export
    has the same columns: step, then one per series."""

    run: RunInfo
    steps: list[int] = Field(description="the steps that have a value of any series, ascending")
    scalars: dict[str, list[float | None]] = Field(
        description="per series, its value at each of `steps` (null: none at that step; "
        'non-finite ones as strings): "loss"; each racer\'s "race/<name>/loss"; an attached '
        'script\'s "logged/<name>"; the evaluations\' "evaluation/train_loss", '
        '"evaluation/validation_loss", "evaluation/train_accuracy", '
        '"evaluation/validation_accuracy" (those the run has)'
    )


class LossSurface(Message):
    """MSE of y = w·x + b over the whole data set on an n×n grid (rows: b, columns: w)."""

    w: tuple[float, float] = Field(description="[low, high] of the w axis")
    b: tuple[float, float] = Field(description="[low, high] of the b axis")
    n: int = Field(description="grid points per axis")
    loss: list[float] = Field(description="n·n losses, row-major: loss[i·n + j] at (w_j, b_i)")
    minimum: tuple[float, float] = Field(description="the least-squares (w, b)")
    start: tuple[float, float] = Field(description="the (w, b) every optimizer starts from")


class PointSet(Message):
    inputs: list[list[float]] = Field(description="each sample's inputs (one or two numbers)")
    targets: list[float] = Field(description="each sample's target: a class (0, 1, …) or a value")


class DataPoints(Message):
    """A run's samples, for experiments whose inputs are one or two numbers: what the decision
    boundary or the fitted curve is drawn over. At most 2,000 of each split."""

    dims: int = Field(description="inputs per sample: 1 or 2")
    task: str = Field(description="regression, binary or classes")
    train: PointSet
    validation: PointSet | None = Field(description="null when nothing is held out")


class Problem(Message):
    """An error: an unknown run (404), a command the run's state forbids (409), too many runs
    (429)."""

    detail: str = Field(description="the reason, in words")


class InputProblem(Message):
    loc: list[int | str] = Field(description="where in the request, as pydantic gives it")
    field: str | None = Field(description="the setting it is about (e.g. lr), or null")
    msg: str = Field(description="a sentence to show beside the field")
    type: str = Field(description="pydantic's error type")


class RefusedInput(Message):
    """A 422: the request was refused and nothing of it applied."""

    detail: list[InputProblem]
