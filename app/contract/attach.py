"""An attached training script and the server: the websocket `/ws/attach` (docs/attach.md).

A script that calls `stepscope.attach(model, optimizer)` is, to the server, a run whose worker is
the script itself. It speaks the worker's own messages (app/contract/worker.py), but as JSON over
a websocket instead of pickles over a pipe: the server validates every message against these
models and never runs anything the script sends.

    script → server   Attach (first), then ScalarsBatch, HealthMeasured, Ack, OptimizerChanged,
                      Alerted, Dropped and Detach as JSON text; each snapshot as one binary
                      message (the encoded frame of app.stream.protocol, as browsers receive it)
    server → script   Attached (the answer to Attach), then Control, SetOptimizer, SetAlerts and
                      SetInstrumentation as JSON text

A connection speaks for the one run its Attach created, and is steered for that run only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.contract.attached import NAME_MAX, AttachedOptimizer, AttachedProcess
from app.contract.base import Message
from app.contract.health import Instrumentation
from app.contract.run import RunInfo
from app.contract.worker import (
    Ack,
    Alerted,
    HealthMeasured,
    OptimizerChanged,
    ScalarsBatch,
)

PARAMETERS_MAX = 100_000  # named parameter tensors an attached model may have


# script → server


class Attach(Message):
    """The first message: the run to make. The server answers with Attached."""

    kind: Literal["attach"] = "attach"
    process: AttachedProcess
    optimizer: AttachedOptimizer
    parameters: list[Annotated[str, Field(max_length=500)]] = Field(
        max_length=PARAMETERS_MAX, description="the model's named parameters, in order"
    )
    instrumentation: Instrumentation = Field(default_factory=Instrumentation)


class Logged(Message):
    """Scalars logged besides the loss (`watch.log(accuracy=…)`): one list per name for the
    steps first_step, first_step + 1, …; null where a step has no value for that name."""

    kind: Literal["logged"] = "logged"
    first_step: int = Field(ge=1)
    values: dict[Annotated[str, Field(max_length=NAME_MAX)], list[float | None]] = Field(
        max_length=32
    )


class Dropped(Message):
    """What the script has dropped so far, in total (sent when the counts change, at most once a
    second)."""

    kind: Literal["dropped"] = "dropped"
    snapshots: int = Field(ge=0)
    scalars: int = Field(ge=0)


class Detach(Message):
    """The script closed its watch (`watch.close()`, the end of a `with`, or its exit)."""

    kind: Literal["detach"] = "detach"
    reason: str = Field(max_length=500)


ScriptMessage = Annotated[
    ScalarsBatch | Logged | HealthMeasured | Ack | OptimizerChanged | Alerted | Dropped | Detach,
    Field(discriminator="kind"),
]


# server → script


class Attached(Message):
    """The answer to Attach: the run made for this connection, and the address of its page."""

    kind: Literal["attached"] = "attached"
    run: RunInfo
    url: str = Field(description="the run's page, e.g. http://127.0.0.1:8000/#run=<id>")


class Refused(Message):
    """Attach refused (a malformed message, or as many runs live as allowed); the server closes
    the connection after it."""

    kind: Literal["refused"] = "refused"
    reason: str
