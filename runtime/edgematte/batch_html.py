"""A self-contained HTML page for a batch (`edgematte remove --html`): every file's before and
after thumbnails, status, messages and timings, failures first.

Thumbnails are embedded (base64 JPEG, settings.THUMB_PX long side; cut-outs on a checkerboard),
so the page can be mailed or archived as one file.
"""

from __future__ import annotations

import html
from pathlib import Path

from edgematte.batch import BatchReport, FileResult
from edgematte.files import write_atomic
from edgematte.settings import THUMB_PX
from edgematte.thumbnails import thumbnail_img

# Rows in this order: what needs the user's eyes first.
_ORDER = {"failed": 0, "warned": 1, "ok": 2, "skipped": 3}
_COLOUR = {"failed": "#c62828", "warned": "#ef6c00", "ok": "#2e7d32", "skipped": "#546e7a"}


def _kind(r: FileResult) -> str:
    return "warned" if r.status == "ok" and r.warnings else r.status


def _row(r: FileResult) -> str:
    kind = _kind(r)
    before = thumbnail_img(r.source)
    after = thumbnail_img(r.output) if r.output and r.status in ("ok", "skipped") and Path(r.output).exists() else ""
    notes = "".join(f"<li>{html.escape(m)}</li>" for m in ([r.message] if r.message else []) + list(r.warnings))
    stages = ", ".join(f"{html.escape(k)} {v:.0f}" for k, v in r.stages_ms.items() if v >= 0.5)
    timing = f"{r.seconds:.2f} s" + (f" <small>(ms: {stages})</small>" if stages else "") if r.seconds else ""
    return (
        f"<tr><td>{before}</td><td>{after}</td><td><div><code>{html.escape(r.source)}</code> &rarr; "
        f"<code>{html.escape(r.output or '')}</code></div>"
        f'<div><b style="color:{_COLOUR[kind]}">{kind.upper()}</b> {timing}</div><ul>{notes}</ul></td></tr>'
    )


def render_batch_html(report: BatchReport, title: str = "edgematte remove") -> str:
    """One self-contained HTML page for a batch's results.

    Parameters
    ----------
    report
        The batch's results (batch.run_batch). Failed files come first, then those with
        warnings, then the rest, each group in input order. A file that cannot be decoded gets
        no thumbnail; its row still says why it failed.
    title
        The page's heading. Default "edgematte remove".
    """
    rows = sorted(report.results, key=lambda r: _ORDER[_kind(r)])
    c = report.counts()
    summary = f"{c['ok']} done, {c['skipped']} skipped, {c['failed']} failed" + (
        " (interrupted)" if report.interrupted else ""
    )
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}td{vertical-align:top;padding:8px;"
        f"border-bottom:1px solid #ddd}}ul{{margin:4px 0;padding-left:1.2em}}img{{max-width:{THUMB_PX}px}}</style>"
        f"<h1>{html.escape(title)}</h1><p>{summary}.</p>"
        f"<table><tr><th>before</th><th>after</th><th></th></tr>{''.join(_row(r) for r in rows)}</table>"
    )


def write_batch_html(path: str | Path, report: BatchReport, title: str = "edgematte remove") -> Path:
    """Write `render_batch_html(report, title)` to `path` atomically; returns the path written.

    Parameters
    ----------
    path
        The .html file to write (replaced if it exists).
    report, title
        As in `render_batch_html`.
    """
    return write_atomic(path, render_batch_html(report, title).encode())
