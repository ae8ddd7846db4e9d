"""The update ledger: one optimizer step, predicted from what was known before it, rule written out.

`predict` takes a parameter, its gradient, the optimizer's `state[p]` and the param_group as they
were before `step()`, and returns the value every element will have after it, together with the
rule for one element written with its live numbers. A learner compares the prediction with what
`step()` actually produced; they must agree to float32 precision. The rules themselves are in
`app.engine.update_rules`, and which optimizer has one is the optimizer registry's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from app.engine.optimizers import REGISTRY
from app.engine.update_rules import LedgerLine, State, Writer

__all__ = ["LEDGER_NAMES", "Ledger", "LedgerLine", "predict"]


@dataclass(frozen=True)
class Ledger:
    optimizer: str
    lines: list[LedgerLine]
    predicted: Tensor  # every element after step(), shaped like the parameter


# The torch.optim classes whose step the ledger can write out, by the name predict() takes:
# read off the registry, so that an optimizer gains a ledger in one place.
LEDGER_NAMES: dict[type[torch.optim.Optimizer], str] = {
    entry.torch_class: entry.name for entry in REGISTRY.values() if entry.rule is not None
}


def predict(
    *,
    optimizer: str,
    group: Mapping[str, Any],
    value: Tensor,
    grad: Tensor,
    state: State,
    element: int | None = None,
) -> Ledger:
    """What `step()` will make of `value`, from the param_group, gradient and state before it.

    `element` (a flat index into the parameter) selects the element whose rule is written out.
    """
    entry = REGISTRY.get(optimizer)
    if entry is None or entry.rule is None:
        known = ", ".join(sorted(name for name, e in REGISTRY.items() if e.rule is not None))
        raise ValueError(f"no update ledger for optimizer {optimizer!r}; known: {known}")
    if grad.shape != value.shape:
        raise ValueError(
            f"grad shape {tuple(grad.shape)} is not the parameter's {tuple(value.shape)}"
        )
    if element is not None and not 0 <= element < value.numel():
        raise IndexError(f"element {element} is outside a parameter of {value.numel()} elements")
    write = Writer(element)
    with torch.no_grad():
        predicted = entry.rule(group, value.detach(), grad.detach(), state, write)
    return Ledger(optimizer=optimizer, lines=write.lines, predicted=predicted)
