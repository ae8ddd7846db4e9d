"""The JSON text messages the server sends a browser on a run's websocket (docs/protocol.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.contract.base import PROTOCOL_VERSION, Message
from app.contract.health import HealthPoint
from app.contract.run import RunInfo
from app.contract.views import Evaluation
from app.engine.loop import Phase
from app.engine.optimizers import OptimizerConfig
from app.runs.state import Command


class RaceSeries(Message):
    """One racer's path, aligned with the `loss` list it travels beside (same steps)."""

    name: str = Field(description="the racer's optimizer title")
    loss: list[float]
    w: list[float]
    b: list[float]


class OwnPath(Message):
    """The run's own (w, b) after each step, aligned with `loss` (surface-2d only)."""

    w: list[float]
    b: list[float]


class Event(Message):
    v: Literal[1] = PROTOCOL_VERSION


class Hello(Event):
    type: Literal["hello"] = "hello"
    protocol: Literal[1] = PROTOCOL_VERSION
    run: RunInfo


class Status(Event):
    type: Literal["status"] = "status"
    run: RunInfo
    acknowledged: Command | None = Field(
        default=None,
        description="null: the server accepted a command or a setting. A command: the worker "
        "carried it out, and run.step is final for it",
    )


class Scalars(Event):
    type: Literal["scalars"] = "scalars"
    first_step: int = Field(ge=1)
    loss: list[float] = Field(description="the loss of steps first_step, first_step + 1, …")
    t0: float | None = Field(
        default=None, description="worker clock (Unix s) when the first step ended; null in history"
    )
    t1: float | None = Field(
        default=None, description="worker clock (Unix s) when the batch was sent; null in history"
    )
    history: bool = Field(default=False, description="true: read from the history on (re)sync")
    race: list[RaceSeries] | None = Field(
        default=None, description="surface-2d races: one entry per racer, own optimizer excluded"
    )
    path: OwnPath | None = Field(
        default=None, description="surface-2d: the run's own (w, b) after each of these steps"
    )


class Logged(Event):
    """Scalars an attached script logged besides the loss (`watch.log(accuracy=…)`)."""

    type: Literal["logged"] = "logged"
    first_step: int = Field(ge=1)
    values: dict[str, list[float | None]] = Field(
        description="per name, the values of steps first_step, first_step + 1, …; null where "
        "that step logged no value of that name"
    )
    history: bool = Field(default=False, description="true: read from the history on (re)sync")


class Evaluations(Event):
    """Training and validation metrics, measured at display rate (not every step)."""

    type: Literal["evaluation"] = "evaluation"
    points: list[Evaluation] = Field(description="in step order")
    history: bool = Field(default=False, description="true: read from the history on (re)sync")


class Health(Event):
    """Training health (distributions, norms, update ratios, dead units, overhead), with
    snapshots: every command's, and at most 2 a second while running."""

    type: Literal["health"] = "health"
    points: list[HealthPoint] = Field(description="in step order")
    history: bool = Field(default=False, description="true: read from the history on (re)sync")


class Reset(Event):
    type: Literal["reset"] = "reset"


class OptimizerMark(Event):
    type: Literal["optimizer"] = "optimizer"
    step: int = Field(description="the change applies from step + 1")
    optimizer: OptimizerConfig
    fresh: bool = Field(description="true: a new optimizer with empty state replaced the old one")
    previous: OptimizerConfig | None = Field(
        default=None, description="the configuration it replaced (null in histories before v1.1)"
    )


AlertKind = Literal["nonfinite", "exploding", "vanishing", "dead_units"]


class Alert(Event):
    """Something went wrong in the training itself. A nonfinite alert pauses a running run where
    it was found; the health alerts (exploding, vanishing, dead_units) never pause."""

    type: Literal["alert"] = "alert"
    kind: AlertKind = Field(
        description="nonfinite: a NaN or ±Inf appeared; exploding: the total gradient norm "
        "jumped past 10× its recent median; vanishing: a weight's ‖g‖/‖θ‖ fell below 1e-3 of the "
        "largest layer's; dead_units: half or more of a ReLU layer's units output 0 for a batch"
    )
    step: int = Field(description="the step whose `phase` wrote the tensor (0: at initialisation)")
    phase: Phase | None = Field(
        description="the phase that wrote it: loss (the loss), backward (a gradient), step (a "
        "parameter or optimizer state); null at initialisation"
    )
    tensor: str = Field(
        description='nonfinite: the first non-finite tensor: "loss", "<parameter>", '
        '"<parameter>.grad" or "state.<name> of <parameter>"; exploding: "all parameters"; '
        "vanishing: the parameter; dead_units: the ReLU module"
    )
    detail: str = Field(description="what was found, in words")
    paused: bool = Field(description="true: the alert paused the running loop")
    history: bool = Field(default=False, description="true: read from the history on (re)sync")


class Error(Event):
    type: Literal["error"] = "error"
    message: str
    code: int | None = Field(
        default=None,
        description="403: this connection may not send that message (a view-only link); null: "
        "the message itself was wrong",
    )


class DriverElement(Message):
    """The parameter element the driver selected (the Parameters panel's highlighted cell)."""

    tensor: str = Field(max_length=200, description="the parameter's name, as in the snapshot")
    index: int = Field(ge=0, description="the element's flat (row-major) index in the tensor")


class DriverView(Message):
    """What the owner's page points at, for viewers who follow the driver."""

    element: DriverElement | None = Field(default=None, description="null: none selected")
    step: int = Field(ge=0, description="the step the owner's page shows")
    phase: Phase | None = Field(
        default=None, description="the last phase that ran, as the owner's page shows it"
    )
    panels: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=32,
        description="the ids of the collapsible panels (<details>) open on the owner's page",
    )
    views: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=200)]] = (
        Field(
            default_factory=dict,
            max_length=32,
            description="the owner's view choices by control id (log scale, smoothing, network "
            "edges, distribution tensor and field): how the page draws, never what the run does",
        )
    )


class DriverUpdate(DriverView):
    """Client → server: the owner's page says what it points at (refused from a viewer: 403)."""

    type: Literal["driver"] = "driver"


class Driver(Event, DriverView):
    """Server → client: what the driver (the owner's page) points at now; sent to every page
    watching the run when the owner's page changes it, and after the history on connect."""

    type: Literal["driver"] = "driver"


class Pong(Event):
    type: Literal["pong"] = "pong"


ServerEvent = Annotated[
    Hello
    | Status
    | Scalars
    | Logged
    | Evaluations
    | Health
    | Reset
    | OptimizerMark
    | Alert
    | Error
    | Pong
    | Driver,
    Field(discriminator="type"),
]
