"""Muon as torch's own documentation uses it: Muon for the weight matrices, AdamW for the rest.

`torch.optim.Muon` orthogonalises each 2-D parameter's update and refuses any other shape, so a
model with biases needs a second optimizer (the example in torch's Muon docs). The training loop,
its hooks and the recorder see one optimizer, so this thin shell holds the two real ones and shares
their bookkeeping: one `state` dict (the parameters are disjoint) and their `param_groups` in one
list. Its `step()` is theirs, so every number is what torch.optim computes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


class MuonWithAdamW(torch.optim.Optimizer):
    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        *,
        lr: float,
        momentum: float,
        nesterov: bool,
        weight_decay: float,
        ns_steps: int,
        eps: float,
    ) -> None:
        params = list(params)
        matrices = [p for p in params if p.ndim == 2]
        others = [p for p in params if p.ndim != 2]
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})
        self.inner: list[torch.optim.Optimizer] = []
        if matrices:
            self.inner.append(
                torch.optim.Muon(
                    matrices,
                    lr=lr,
                    momentum=momentum,
                    nesterov=nesterov,
                    weight_decay=weight_decay,
                    ns_steps=ns_steps,
                    eps=eps,
                )
            )
        if others:
            self.inner.append(torch.optim.AdamW(others, lr=lr, weight_decay=weight_decay))
        self.param_groups = [group for optimizer in self.inner for group in optimizer.param_groups]
        for optimizer in self.inner:
            optimizer.state = self.state

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for optimizer in self.inner:
            optimizer.step()
        return loss

    def set_hyperparameters(self, **kwargs: Any) -> None:
        """Muon's groups take every setting; AdamW's only the two it shares with Muon."""
        for optimizer in self.inner:
            shared = kwargs
            if isinstance(optimizer, torch.optim.AdamW):
                shared = {k: v for k, v in kwargs.items() if k in ("lr", "weight_decay")}
            for group in optimizer.param_groups:
                group.update(shared)
