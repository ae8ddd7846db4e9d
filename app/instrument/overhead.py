"""What instrumentation costs a running loop: its share of the wall time over the last seconds.

The worker charges every instrumentation cost here as it pays it: a snapshot (statistics, views,
evaluation, health point, encoding and the send), the armed step hooks of the recorder and the
ReLU hooks, and the evaluations between snapshots. The share is their sum over the window divided
by the wall time the window covers while running (a paused loop costs nothing and earns nothing).
"""

from __future__ import annotations

from collections import deque

from app.contract.health import Overhead

WINDOW = 5.0  # seconds


class OverheadMeter:
    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._costs: deque[tuple[float, float]] = deque()  # (when, seconds spent)
        self._since: float | None = None  # when the loop (re)started running
        self.snapshot_seconds: float | None = None  # the latest snapshot's cost, once there is one

    def started(self, now: float) -> None:
        """The loop starts running: time paused is not training time."""
        self._costs.clear()
        self._since = now

    def charge(self, seconds: float, now: float) -> None:
        self._costs.append((now, seconds))
        while self._costs and self._costs[0][0] < now - self.window:
            self._costs.popleft()

    def share(self, now: float) -> float:
        if self._since is None:
            return 0.0
        start = max(self._since, now - self.window)
        spent = sum(cost for when, cost in self._costs if when >= start)
        elapsed = now - start
        return 0.0 if elapsed <= 0.0 else min(1.0, spent / elapsed)

    def reading(self, budget: float, interval: float, now: float) -> Overhead:
        """What watching costs now, as a health point shows it: the budget, the share spent, the
        latest snapshot's cost and the governor's spacing of snapshots (`interval`, seconds)."""
        spent = self.snapshot_seconds
        return Overhead.model_construct(
            budget=budget,
            share=self.share(now),
            snapshot_ms=None if spent is None else spent * 1000.0,
            interval_s=interval,
        )
