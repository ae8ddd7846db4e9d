"""Training health: per-tensor distributions, norms and update ratios, dead ReLU units, and what
instrumentation costs (docs/protocol.md, "health"). One `HealthPoint` goes with a snapshot: with
every snapshot of a step, phase or pause command, and at most 2 a second while running."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from app.contract.base import Message

BUDGET_MIN, BUDGET_MAX = 0.005, 0.5  # the overhead budget's bounds: 0.5% .. 50% of wall time
BUDGET_DEFAULT = 0.05


class Distribution(Message):
    """The histogram of one field of one parameter, over all of its elements."""

    field: str = Field(description='"value", "grad", "update" or "state.<key>" (state.exp_avg_sq)')
    low: float = Field(description="the bins' range: the smallest finite element")
    high: float = Field(description="the largest finite element")
    counts: list[int] = Field(
        description="64 bins: torch.histc(finite elements, 64, low, high); a constant tensor "
        "(low = high) follows histc's range low − 1 .. high + 1, all in bin 32"
    )
    nonfinite: int = Field(description="NaN and ±Inf elements, not in counts")


class LayerHealth(Message):
    """One parameter tensor."""

    tensor: str = Field(description='the parameter\'s name, e.g. "layers.0.weight"')
    value_norm: float = Field(description="‖θ‖ (L2, finite elements), after the latest step")
    grad_norm: float | None = Field(description="‖g‖; null when the parameter has no gradient")
    update_norm: float | None = Field(
        description="‖Δθ‖ of the latest step(); null before the first step"
    )
    update_ratio: float | None = Field(
        description="‖Δθ‖ / ‖θ‖, θ after the step; null without an update or when ‖θ‖ = 0"
    )
    distributions: list[Distribution] = Field(description="value, grad, update, state.<key>")


class UnitActivity(Message):
    """One ReLU module, over the latest watched forward."""

    layer: str = Field(description='the module\'s name in the model, e.g. "net.1"')
    units: int = Field(description="features along dim 1: units of a Linear, channels of a conv")
    dead: int = Field(description="units whose output was 0 for every sample (and position)")


class Overhead(Message):
    budget: float = Field(description="the share of wall time instrumentation may take")
    share: float = Field(
        description="the share it took over the last 5 s of running: snapshots, hooks, evaluation"
    )
    snapshot_ms: float | None = Field(
        description="what the latest snapshot before this point cost, in milliseconds (its "
        "hooks included while running); null before any was taken"
    )
    interval_s: float = Field(
        description="the governor's spacing of snapshots now: cost / budget, at least 1/20 s"
    )


class HealthPoint(Message):
    step: int = Field(description="optimizer steps taken")
    grad_norm: float | None = Field(
        description="total ‖g‖ over every parameter with a gradient; null when none has one"
    )
    layers: list[LayerHealth] = Field(description="one per parameter tensor, in model order")
    units: list[UnitActivity] = Field(description="one per nn.ReLU module; empty without any")
    overhead: Overhead


class Instrumentation(Message):
    """How much of the run's time instrumentation may take (a setting of the live run)."""

    model_config = ConfigDict(frozen=True)

    budget: float = Field(
        default=BUDGET_DEFAULT,
        ge=BUDGET_MIN,
        le=BUDGET_MAX,
        allow_inf_nan=False,
        description="share of wall time snapshots, hooks and evaluation may take (0.005 .. 0.5)",
    )
