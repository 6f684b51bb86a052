"""A self-contained HTML page for a folder's checks: a thumbnail of each image and its findings.

Thumbnails are embedded (base64 JPEG, 240 px) so the page can be mailed or archived as one file.
"""

from __future__ import annotations

import html
from pathlib import Path

from edgematte.commerce.findings import CheckReport
from edgematte.files import write_atomic
from edgematte.settings import THUMB_PX
from edgematte.thumbnails import thumbnail_img

COLOURS = {"fail": "#c62828", "warn": "#ef6c00", "ok": "#2e7d32", "info": "#546e7a"}


def render_html(reports: list[CheckReport]) -> str:
    """One self-contained HTML page: per report, a thumbnail of its source and its findings.

    Parameters
    ----------
    reports
        The reports to show, in order. A source is decoded once for its thumbnail
        (settings.THUMB_PX long side) however many reports name it; a source that cannot be
        decoded gets no thumbnail.
    """
    rows = []
    thumbs: dict[str, str] = {}
    for r in reports:
        if r.source not in thumbs:
            thumbs[r.source] = thumbnail_img(r.source)
        items = "".join(
            f'<li><b style="color:{COLOURS[f.level]}">{f.level.upper()}</b> {html.escape(f.code)}: '
            f"{html.escape(f.message)}" + (f"<br><i>{html.escape(f.advice)}</i>" if f.advice else "") + "</li>"
            for f in r.findings
        )
        crops = "".join(f"<div><small>crop: {html.escape(c)}</small></div>" for c in r.crops)
        verdict = '<b style="color:#2e7d32">PASS</b>' if r.passed else '<b style="color:#c62828">FAIL</b>'
        rows.append(
            f"<tr><td>{thumbs[r.source]}</td><td><div><code>{html.escape(r.source)}</code> ({r.kind}"
            f"{', ' + html.escape(r.preset) if r.preset else ''}) {verdict}</div><ul>{items}</ul>{crops}</td></tr>"
        )
    failed = sum(not r.passed for r in reports)
    return (
        "<!doctype html><meta charset='utf-8'><title>edgematte check</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}td{vertical-align:top;padding:8px;"
        f"border-bottom:1px solid #ddd}}ul{{margin:4px 0;padding-left:1.2em}}img{{max-width:{THUMB_PX}px}}</style>"
        f"<h1>edgematte check</h1><p>{len(reports)} reports, {failed} failed.</p><table>{''.join(rows)}</table>"
    )


def write_html(path: str | Path, reports: list[CheckReport]) -> Path:
    """Write `render_html(reports)` to `path` atomically; returns the path written.

    Parameters
    ----------
    path
        The .html file to write (replaced if it exists).
    reports
        As in `render_html`.
    """
    return write_atomic(path, render_html(reports).encode())
