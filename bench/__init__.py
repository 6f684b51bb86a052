"""Measuring instruments: eval sets, metrics, latency and quality harnesses."""
