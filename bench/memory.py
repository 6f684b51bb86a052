"""Resident-memory readings for the harnesses (Linux /proc): the current RSS and a resettable peak.

Only bench/ needs these windows; the runtime's `edgematte bench` reports the whole process's peak
(edgematte.benchmark.peak_rss_mb).
"""

from __future__ import annotations

from pathlib import Path

from edgematte.benchmark import peak_rss_mb, proc_status_mb


def current_rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux VmRSS; elsewhere the peak)."""
    rss = proc_status_mb("VmRSS")
    return rss if rss is not None else peak_rss_mb()


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window (Linux: writing 5 to /proc/self/clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False
