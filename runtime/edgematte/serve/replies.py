"""Errors in remove.bg's shape: `{"errors": [{"title": ..., "code": ...}]}` with its status codes."""

from __future__ import annotations

from starlette.responses import JSONResponse


class ApiError(Exception):
    """A request the service refuses: an HTTP status, a one-line title and a stable code.

    Parameters
    ----------
    status
        400 (bad parameter or image), 403 (key), 408 (upload too slow), 413 (too large), 415
        (not an image / wrong content type), 429 (queue full), 503/504 (busy, timed out).
    title
        What went wrong and what to do, in one line (shown to people by clients).
    code
        A stable machine-readable code ('invalid_parameter', 'file_too_large', ...).
    headers
        Extra response headers (Retry-After on 429). Default None.
    """

    def __init__(self, status: int, title: str, code: str, headers: dict[str, str] | None = None):
        super().__init__(title)
        self.status = status
        self.title = title
        self.code = code
        self.headers = headers or {}


def error_response(exc: ApiError) -> JSONResponse:
    """The JSON response for an ApiError (remove.bg's error body)."""
    return JSONResponse(
        {"errors": [{"title": exc.title, "code": exc.code}]}, status_code=exc.status, headers=exc.headers
    )
