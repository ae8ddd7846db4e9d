"""When to take the next snapshot: at most the display rate, and within the overhead budget."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Governor:
    """Spaces snapshots so that their cost stays under `budget` of wall time.

    After a snapshot that cost `c` seconds the next one waits at least `c / budget`: whatever the
    model size, instrumentation then takes at most that share of training time. A 5% budget on a
    snapshot that costs 10 ms means one snapshot every 200 ms.
    """

    budget: float = 0.05
    max_rate: float = 20.0  # frames per second; more than a screen shows is wasted
    next_at: float = 0.0
    warm: bool = False

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def spent(self, cost: float, now: float) -> None:
        if not self.warm:
            # The first snapshot pays for first calls (allocations, lazy initialisation) and can
            # cost ten times the next: charged in full, it froze the views for seconds.
            self.warm = True
            cost = 0.0
        self.next_at = now + max(1.0 / self.max_rate, cost / self.budget)
