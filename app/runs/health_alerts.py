"""The health alerts, read off the health points: exploding gradients, vanishing gradients, dead
ReLU units. None of them pauses the run: they are listed and marked, and the learner decides.

Each condition fires when it starts and is re-armed when it clears, so a run that stays unhealthy
raises one alert, not one per point. Only points taken after a whole step count (a phase command's
point in the middle of a step has the gradients of a step under way), one per step.

- exploding: the total gradient norm ‖g‖ is more than EXPLODING_FACTOR × the median of the recent
  points' (at least MIN_HISTORY of them), and larger than any healthy point's before. A median, not
  a mean, so one earlier spike does not hide the next; recent, so a run whose gradients shrink
  steadily is not compared with its first steps. Past the largest healthy norm, because near a
  minimum the gradient is noise: an Adam run at a loss of 1e-9 had norms jumping 10× their median
  (tests/runs/test_health_alerts.py), yet far below those of its first, healthy steps; a real
  explosion climbs past everything the run has seen.
- vanishing: a weight's ‖g‖/‖θ‖ stays below VANISHING_FACTOR × the largest weight's for
  VANISHING_POINTS points in a row. Relative to the largest layer, because a converged model has
  small gradients everywhere, which is health, not a vanishing gradient: what vanishes is one
  layer's share of the signal compared with the others' (typically the first layers of a deep
  sigmoid or tanh network). Scaled by ‖θ‖, because ‖g‖/‖θ‖ is (for SGD, up to lr) the relative
  change the layer can get; weights only (two or more dims), since a bias is often 0 at the start.
  Several points in a row, so the noise of one batch does not raise it.
- dead_units: DEAD_SHARE or more of a ReLU module's units output 0 for every sample of a step's
  batch (app/instrument/activity.py).
"""

from __future__ import annotations

import math
import statistics
from collections import deque

from app.contract.events import Alert, AlertKind
from app.contract.health import HealthPoint
from app.engine.loop import Phase

EXPLODING_FACTOR = 10.0
MIN_HISTORY = 5  # points before an exploding norm can be told from the start of training
RECENT = 20  # points the median is taken over
VANISHING_FACTOR = 1e-3
VANISHING_POINTS = 3
DEAD_SHARE = 0.5
ALL_PARAMETERS = "all parameters"


class HealthWatch:
    def __init__(self) -> None:
        self._norms: deque[float] = deque(maxlen=RECENT)
        self._peak = 0.0  # the largest gradient norm of a point that was not exploding
        self._low_for: dict[str, int] = {}  # weight → points in a row below the vanishing line
        self._active: set[tuple[AlertKind, str]] = set()  # conditions that fired and still hold
        self._seen_step = 0

    def observe(self, point: HealthPoint) -> list[Alert]:
        """The alerts this point starts (a point of a step already seen, or of step 0, is left
        out)."""
        if point.step <= self._seen_step:
            return []
        self._seen_step = point.step
        holding: dict[tuple[AlertKind, str], tuple[Phase, str]] = {}
        self._exploding(point, holding)
        self._vanishing(point, holding)
        self._dead(point, holding)
        started = [key for key in holding if key not in self._active]
        self._active = set(holding)  # a condition that cleared is re-armed
        return [
            Alert.model_construct(
                kind=kind,
                step=point.step,
                phase=holding[(kind, tensor)][0],
                tensor=tensor,
                detail=holding[(kind, tensor)][1],
                paused=False,
                history=False,
            )
            for kind, tensor in started
        ]

    def _exploding(
        self, point: HealthPoint, holding: dict[tuple[AlertKind, str], tuple[Phase, str]]
    ) -> None:
        norm = point.grad_norm
        if norm is None or not math.isfinite(norm):
            return  # no gradient yet; a non-finite one is the nonfinite alert's
        exploding = False
        if len(self._norms) >= MIN_HISTORY:
            median = statistics.median(self._norms)
            exploding = norm > EXPLODING_FACTOR * median and norm > self._peak
            if exploding:
                holding[("exploding", ALL_PARAMETERS)] = (
                    Phase.BACKWARD,
                    f"the gradient norm {norm:.3g} is {norm / median:.3g}× the median "
                    f"{median:.3g} of the last {len(self._norms)} points",
                )
        if not exploding:
            self._peak = max(self._peak, norm)
        self._norms.append(norm)

    def _vanishing(
        self, point: HealthPoint, holding: dict[tuple[AlertKind, str], tuple[Phase, str]]
    ) -> None:
        ratios: dict[str, float] = {}
        for layer in point.layers:
            if layer.tensor.endswith("bias") or layer.grad_norm is None:
                continue
            if not (layer.value_norm > 0.0 and math.isfinite(layer.grad_norm)):
                continue
            if any(d.nonfinite for d in layer.distributions if d.field in ("value", "grad")):
                continue  # its norms leave the NaN out: the nonfinite alert's to report
            ratios[layer.tensor] = layer.grad_norm / layer.value_norm
        if len(ratios) < 2:
            self._low_for.clear()  # one weight has no other to fall behind
            return
        top_name = max(ratios, key=lambda name: ratios[name])
        top = ratios[top_name]
        for name, ratio in ratios.items():
            if top > 0.0 and ratio < VANISHING_FACTOR * top:
                self._low_for[name] = self._low_for.get(name, 0) + 1
            else:
                self._low_for.pop(name, None)
            if self._low_for.get(name, 0) >= VANISHING_POINTS:
                holding[("vanishing", name)] = (
                    Phase.BACKWARD,
                    f"‖g‖/‖θ‖ of {name} is {ratio:.3g}, under {VANISHING_FACTOR:g}× that of "
                    f"{top_name} ({top:.3g}) for {self._low_for[name]} points",
                )

    def _dead(
        self, point: HealthPoint, holding: dict[tuple[AlertKind, str], tuple[Phase, str]]
    ) -> None:
        for module in point.units:
            if module.units and module.dead >= DEAD_SHARE * module.units:
                holding[("dead_units", module.layer)] = (
                    Phase.FORWARD,
                    f"{module.dead} of the {module.units} units of the ReLU {module.layer} output 0 for "
                    f"every sample of the batch",
                )
