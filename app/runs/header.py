"""A snapshot's header: the loop's step, phase, batch and settings, and what its last phase did."""

from __future__ import annotations

from app.contract.snapshot import (
    BackwardEffect,
    Batch,
    Effect,
    ForwardEffect,
    LossEffect,
    MicroBatch,
    Racer,
    SnapshotHeader,
    StepEffect,
    ZeroGradEffect,
)
from app.contract.views import Evaluation, ModelViews
from app.engine.loop import Phase, TrainingLoop
from app.instrument.recorder import Snapshot

BATCH_ROWS_SHOWN = 8  # predictions beside targets, in a snapshot


def snapshot_header(
    loop: TrainingLoop,
    snapshot: Snapshot,
    race: list[Racer] | None,
    views: ModelViews | None = None,
    evaluation: Evaluation | None = None,
) -> SnapshotHeader:
    loss, batch = batch_so_far(loop)
    return SnapshotHeader.model_construct(
        step=loop.step,
        phase=loop.phase,
        loss=loss,
        batch=batch,
        race=race,
        optimizer=loop.optimizer_config,
        teaching=loop.teaching,
        effect=effect_of(loop, snapshot.moved()),
        micro_batch=MicroBatch.model_construct(index=loop.micro_batch, of=loop.micro_batches),
        tensors=snapshot.tensors,
        views=views,
        evaluation=evaluation,
    )


def batch_so_far(loop: TrainingLoop) -> tuple[float | None, Batch | None]:
    """The current step's loss and batch, once the phases that make them ran.

    After zero_grad a new step has begun: the previous step's batch and loss are not shown as if
    they were this one's.
    """
    phase = loop.phase
    if phase in (None, Phase.ZERO_GRAD) or loop.predictions is None or loop.targets is None:
        return None, None
    rows = BATCH_ROWS_SHOWN
    batch = Batch.model_construct(
        size=len(loop.targets),
        predictions=loop.predictions.detach()[:rows].flatten().tolist(),
        targets=loop.targets[:rows].flatten().tolist(),
    )
    if phase is not Phase.FORWARD and loop.loss is not None:
        return float(loop.loss.detach()), batch
    return None, batch


def effect_of(loop: TrainingLoop, moved: bool | None) -> Effect | None:
    """What the loop's last phase really did, with the switches it ran under."""
    match loop.phase:
        case Phase.ZERO_GRAD:
            return ZeroGradEffect.model_construct(cleared=loop.cleared)
        case Phase.FORWARD:
            return ForwardEffect.model_construct()
        case Phase.LOSS:
            return LossEffect.model_construct()
        case Phase.BACKWARD:
            return BackwardEffect.model_construct(
                ran=loop.backward_ran,
                micro_batch=loop.micro_batch,
                micro_batches=loop.micro_batches,
            )
        case Phase.STEP:
            return StepEffect.model_construct(moved=moved)
    return None
