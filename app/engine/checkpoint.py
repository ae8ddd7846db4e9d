"""The whole state of a built-in run's training loop at a step boundary, and its restoration.

`capture(loop)` returns a plain dict of tensors, numbers, strings, lists and dicts: `torch.save`
writes it and `torch.load(weights_only=True)` reads it back, so loading a checkpoint never runs
pickled code (a checkpoint file is data, even one a user was handed). `restore(state)` builds a
fresh loop from the checkpoint's own config and puts every piece back, so that the next step it
takes is the step the captured loop would have taken next, bit for bit on the CPU:

    model        the parameters and buffers (state_dict), and the gradients when zero_grad is off
                 (they pile up across steps, so the next step depends on them)
    optimizer    torch's state_dict (moments, momentum buffers, step counts, param_groups) and the
                 validated optimizer config it was built from
    batches      the epoch and the position in that epoch's order; the order itself is a function of
                 (seed, epoch) (experiments.epoch_order), so it is made again, not stored
    rng          torch's CPU generator (dropout, initialisation), numpy's and Python's, and each
                 CUDA device's when there is one
    step         optimizer steps taken; the teaching switches, the pace and the alert setting ride
                 in `config` and `switches`
    racers       the same for each racer of a surface-2d race, which steps in lockstep with the run

A loop in the middle of a step (after a phase command) has gradients and a batch in flight that no
step boundary holds: `capture` refuses it rather than write a checkpoint that cannot resume exactly.
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from pydantic import TypeAdapter

from app.engine.experiments import ExperimentConfig, epoch_order
from app.engine.loop import Phase, TrainingLoop
from app.engine.optimizers import OptimizerConfig

FORMAT = 1  # bumped when a field changes meaning; restore refuses a format it does not know

State = dict[str, Any]
_OPTIMIZER_CONFIG: TypeAdapter[OptimizerConfig] = TypeAdapter(OptimizerConfig)


class CheckpointError(ValueError):
    """A loop that cannot be captured now, or a checkpoint that cannot be restored; says why."""


def capture(
    loop: TrainingLoop,
    config: ExperimentConfig | None = None,
    racers: Sequence[TrainingLoop] = (),
    switches: dict[str, Any] | None = None,
    clone: bool = True,
) -> State:
    """The loop's state now, at a step boundary.

    `config` is the run's config as it is now (its optimizer, teaching and pace); by default the
    loop's own with its current optimizer and teaching. `switches` are the run's other settings a
    resumed worker takes back (e.g. {"nonfinite": True, "budget": 0.05}): numbers, strings, bools.
    With `clone` (the default) the tensors are copies, safe to keep while the loop trains on; a
    caller that writes the dict at once may pass clone=False and skip the copy.
    """
    if loop.mid_step:
        raise CheckpointError(
            f"the loop is in the middle of step {loop.step + 1} (after its {loop.phase} phase): "
            "a checkpoint is taken at a step boundary; finish the step first"
        )
    if config is None:
        config = loop.config.model_copy(
            update={"optimizer": loop.optimizer_config, "teaching": loop.teaching}
        )
    state: State = {
        "format": FORMAT,
        "step": loop.step,
        "config": config.model_dump(mode="json"),
        "switches": dict(switches or {}),
        **_loop_state(loop, clone),
        "racers": [_loop_state(racer, clone) for racer in racers],
        "rng": rng_state(),
    }
    return state


def restore(state: State) -> TrainingLoop:
    """A freshly built loop in the checkpoint's state (RNG included): the next step it takes is
    the one the captured loop would have taken."""
    check(state)
    loop = TrainingLoop(ExperimentConfig.model_validate(state["config"]))
    restore_into(loop, state)
    return loop


def restore_into(
    loop: TrainingLoop, state: State, racers: Sequence[TrainingLoop] = (), rng: bool = True
) -> None:
    """Put a checkpoint into a loop built from its config (and its racers into `racers`, built
    alike). Building a loop draws from the global generator, so the RNG state is set last, here:
    build everything else first. rng=False leaves the generators alone (the caller sets them
    later with `set_rng_state`)."""
    check(state)
    _put_loop_state(loop, state)
    if len(racers) != len(state["racers"]):
        raise CheckpointError(
            f"the checkpoint has {len(state['racers'])} racers; the run has {len(racers)}"
        )
    for racer, kept in zip(racers, state["racers"], strict=True):
        _put_loop_state(racer, kept)
    if rng:
        set_rng_state(state["rng"])


def check(state: State) -> None:
    found = state.get("format") if isinstance(state, dict) else None
    if found != FORMAT:
        raise CheckpointError(f"not a Stepscope checkpoint of format {FORMAT} (found {found!r})")


def config_of(state: State) -> ExperimentConfig:
    """The run's config as it was when the checkpoint was taken."""
    check(state)
    return ExperimentConfig.model_validate(state["config"])


# one loop


def _loop_state(loop: TrainingLoop, clone: bool) -> State:
    model = loop.model.state_dict()
    optimizer = optimizer_state(loop.optimizer)
    if clone:
        model = {name: tensor.detach().clone() for name, tensor in model.items()}
        optimizer = copy.deepcopy(optimizer)
    batches = loop.batches
    # With the zero_grad switch off, gradients pile up across steps: the next step adds to them,
    # so they are part of the state. (Otherwise the next zero_grad clears them: not kept.)
    grads = {}
    if not loop.teaching.zero_grad:
        grads = {
            name: parameter.grad.detach().clone()
            for name, parameter in loop.model.named_parameters()
            if parameter.grad is not None
        }
    return {
        "step": loop.step,
        "model": dict(model),
        "grads": grads,
        "optimizer": optimizer,
        "optimizer_config": loop.optimizer_config.model_dump(mode="json"),
        "teaching": loop.teaching.model_dump(mode="json"),
        "batches": {"epoch": batches.epoch, "position": batches._position},
    }


def _put_loop_state(loop: TrainingLoop, state: State) -> None:
    optimizer_config = _OPTIMIZER_CONFIG.validate_python(state["optimizer_config"])
    if optimizer_config != loop.optimizer_config:
        loop.change_optimizer(optimizer_config)  # the optimizer the checkpoint's state belongs to
    loop.model.load_state_dict(state["model"])
    grads = state.get("grads", {})
    for name, parameter in loop.model.named_parameters():
        parameter.grad = grads[name].clone() if name in grads else None
    # torch's load_state_dict keeps a tensor of the right dtype as it is: a copy, so the state
    # passed in (kept in memory, say) is never trained on through the loop
    load_optimizer_state(loop.optimizer, copy.deepcopy(state["optimizer"]))
    batches = loop.batches
    epoch, position = state["batches"]["epoch"], state["batches"]["position"]
    if epoch != batches.epoch:
        batches._order = epoch_order(len(batches.dataset.inputs), batches.seed, epoch)
        batches.epoch = epoch
    batches._position = position
    loop.step = state["step"]
    loop.phase = Phase.STEP if loop.step > 0 else None


# optimizers: torch's state_dict, except for the Muon shell, whose two inner optimizers share one
# state dict (app/engine/muon.py) that torch's own state_dict and load_state_dict cannot handle


def optimizer_state(optimizer: torch.optim.Optimizer) -> State:
    inner: list[torch.optim.Optimizer] | None = getattr(optimizer, "inner", None)
    if inner is None:
        return {"torch": optimizer.state_dict()}
    shared = optimizer.state
    parts = []
    for part in inner:
        own = {p for group in part.param_groups for p in group["params"]}
        part.state = _defaultdict({p: s for p, s in shared.items() if p in own})
        try:
            parts.append(part.state_dict())
        finally:
            part.state = shared
    return {"inner": parts}


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: State) -> None:
    inner: list[torch.optim.Optimizer] | None = getattr(optimizer, "inner", None)
    if inner is None:
        if "torch" not in state:
            raise CheckpointError("the checkpoint's optimizer state is of another optimizer")
        optimizer.load_state_dict(state["torch"])
        return
    parts = state.get("inner")
    if parts is None or len(parts) != len(inner):
        raise CheckpointError("the checkpoint's optimizer state is of another optimizer")
    shared = optimizer.state
    shared.clear()
    for part, kept in zip(inner, parts, strict=True):
        part.load_state_dict(kept)
        shared.update(part.state)
    for part in inner:
        part.state = shared
    optimizer.param_groups = [group for part in inner for group in part.param_groups]


def _defaultdict(items: dict[Any, Any]) -> Any:
    found: defaultdict[Any, Any] = defaultdict(dict)
    found.update(items)
    return found


# random number generators, as tensors and numbers (weights_only reads nothing else)


def rng_state() -> State:
    version, internal, gauss_next = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    state: State = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "cuda": [],
    }
    if torch.cuda.is_available():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: State) -> None:
    torch.set_rng_state(state["torch"])
    kept = state["numpy"]
    np.random.set_state(
        (
            kept["kind"],
            kept["keys"].numpy().astype(np.uint32),
            kept["position"],
            kept["has_gauss"],
            kept["cached_gaussian"],
        )
    )
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
