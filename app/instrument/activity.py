"""Dead ReLU units: forward hooks on every `nn.ReLU` of the model, registered only while armed.

A unit (a feature along dim 1: a Linear's output unit, a conv's channel) is dead for a step when
its output was 0 for every sample, and every position, of the step's batch: all of its micro-
batches when gradients accumulate. ReLU's output is never negative, so "0 everywhere" is "its
largest output is 0", one `amax` over the other dims per module; a NaN output is not dead.

Cost: nothing unless armed. Hooks make `nn.Module.__call__` take its slow path on every forward, so
they are registered by `arm()` (when a health point is due, as the recorder is armed when a
snapshot is) and removed by `disarm()` after the step. The hooks read the output and return None:
the forward, and so every loss, is what it would be without them.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from app.contract.health import UnitActivity


class Activity:
    def __init__(self, model: nn.Module) -> None:
        self.modules = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ReLU)]
        self._handles: list[RemovableHandle] = []
        # per module, the largest output of each unit over the watched forwards of the step
        self._peaks: dict[str, torch.Tensor] = {}
        self._latest: list[UnitActivity] = []  # of the latest watched step
        self.hook_seconds = 0.0  # time spent in the hooks, charged to the overhead budget

    @property
    def armed(self) -> bool:
        return bool(self._handles)

    def arm(self) -> None:
        """Watch the forwards until `disarm()`; a new step's watch starts empty."""
        if self._handles or not self.modules:
            return
        self._peaks = {}
        self.hook_seconds = 0.0
        self._handles = [
            module.register_forward_hook(self._hook_for(name)) for name, module in self.modules
        ]

    def disarm(self) -> None:
        """Stop watching, and keep what the watched forwards found."""
        if not self._handles:
            return
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._peaks:
            self._latest = [
                UnitActivity.model_construct(
                    layer=name, units=peak.numel(), dead=int((peak <= 0).sum())
                )
                for name, peak in self._peaks.items()
            ]

    def units(self) -> list[UnitActivity]:
        """Each ReLU module's units and dead units, over the latest watched step (a module no
        watched forward reached is left out)."""
        return self._latest

    def _hook_for(self, name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            started = time.perf_counter()
            with torch.no_grad():
                out = output.detach()
                # one unit per index of dim 1; an unbatched 1-D output is one sample of units
                if out.ndim < 2:
                    peak = out.clone()  # the output may be written in place later
                else:
                    peak = out.amax(dim=[d for d in range(out.ndim) if d != 1])
                known = self._peaks.get(name)
                self._peaks[name] = peak if known is None else torch.maximum(known, peak)
            self.hook_seconds += time.perf_counter() - started

        return hook
