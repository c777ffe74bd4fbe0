"""Puente's benchmarks (``make bench``, i.e. ``python -m bench``): see ``bench/README.md``.

Each benchmark module has a ``run(...)`` that returns its results as ``{name: value}``; nothing
here asserts on a time. Ratios compare against a baseline measured in the same run, interleaved
round by round, so a noisy machine moves both sides together.
"""

from __future__ import annotations


class BenchmarkError(RuntimeError):
    """A benchmark's precondition failed (e.g. a verifier did not accept the presentation)."""
