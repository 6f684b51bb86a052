"""Measuring instruments: latency and quality harnesses (eval sets and metrics live in evaluation/)."""
