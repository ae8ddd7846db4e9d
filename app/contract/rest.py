"""Response bodies of the REST API that are not a run: typed so that OpenAPI documents them."""

from __future__ import annotations

from pydantic import Field

from app.contract.base import Message
from app.contract.events import OptimizerMark, RaceSeries
from app.contract.run import RunInfo


class ScalarsExport(Message):
    """A run's whole history of losses, as the stream's history `scalars` carries it."""

    run: RunInfo
    first_step: int = Field(description="always 1: loss[i] is the loss of step i + 1")
    loss: list[float] = Field(description="every step's loss; non-finite ones as strings")
    race: list[RaceSeries] | None = Field(description="each racer's series, aligned with loss")
    events: list[OptimizerMark] = Field(description="optimizer changes, in order")


class LossSurface(Message):
    """MSE of y = w·x + b over the whole data set on an n×n grid (rows: b, columns: w)."""

    w: tuple[float, float] = Field(description="[low, high] of the w axis")
    b: tuple[float, float] = Field(description="[low, high] of the b axis")
    n: int = Field(description="grid points per axis")
    loss: list[float] = Field(description="n·n losses, row-major: loss[i·n + j] at (w_j, b_i)")
    minimum: tuple[float, float] = Field(description="the least-squares (w, b)")
