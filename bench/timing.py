"""Timing helpers: calibrated batches, interleaved rounds, medians."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

CALIBRATION_SECONDS = 0.1


def rate(action: Callable[[], object], iterations: int) -> float:
    """Operations per second of ``iterations`` back-to-back calls of ``action``."""
    gc.collect()  # start each batch with no garbage left over from the previous one
    start = time.perf_counter()
    for _ in range(iterations):
        action()
    elapsed = time.perf_counter() - start
    return iterations / max(elapsed, 1e-9)


def calibrate(action: Callable[[], object], batch_seconds: float) -> int:
    """How many calls of ``action`` take about ``batch_seconds`` (at least one).

    The calibration calls double as warm-up (imports, caches, allocator)."""
    calls, start = 0, time.perf_counter()
    while True:
        action()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= CALIBRATION_SECONDS:
            return max(1, math.ceil(batch_seconds * calls / elapsed))


@dataclass(frozen=True)
class Paired:
    """Per-round rates of one side and of its baseline, and their per-round ratios."""

    ours: list[float]
    baseline: list[float]

    @property
    def ratios(self) -> list[float]:
        return [o / b for o, b in zip(self.ours, self.baseline, strict=True)]

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline)

    @property
    def ratio_median(self) -> float:
        return statistics.median(self.ratios)


def paired(
    ours: Callable[[], object],
    baseline: Callable[[], object],
    *,
    rounds: int,
    iterations: int | None = None,
    batch_seconds: float = 0.25,
) -> Paired:
    """Time ``ours`` against ``baseline`` in ``rounds`` interleaved rounds.

    Each round times one batch of each; the order alternates (ours first in even rounds), so a
    slow drift of the machine (thermal, a neighbour waking up) does not favour one side. With
    ``iterations=None`` each side's batch size is calibrated to ``batch_seconds``."""
    n_ours = iterations or calibrate(ours, batch_seconds)
    n_base = iterations or calibrate(baseline, batch_seconds)
    ours_rates: list[float] = []
    base_rates: list[float] = []
    for round_no in range(rounds):
        if round_no % 2 == 0:
            ours_rates.append(rate(ours, n_ours))
            base_rates.append(rate(baseline, n_base))
        else:
            base_rates.append(rate(baseline, n_base))
            ours_rates.append(rate(ours, n_ours))
    return Paired(ours_rates, base_rates)
