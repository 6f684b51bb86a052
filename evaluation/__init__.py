"""Shared evaluation code: the eval image sets (read in place from ../shared/eval), the one
implementation of the quality metrics, and the machine description written next to every figure.
Model conversion (tools/), the benchmarks (bench/) and the tests all measure with this package, so
it imports neither tools nor bench, and the installable runtime (runtime/edgematte/) never imports it.
"""
