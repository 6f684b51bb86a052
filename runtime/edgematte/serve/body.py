"""Reading a request body within a size and a time limit, and the fields and files in it.

remove.bg clients send multipart forms, urlencoded forms or JSON; rembg clients send multipart.
The body is read here first, whole, against `max_body` (413) and `read_timeout` (408, so a
slow-loris upload holds a connection for at most that long), and only then parsed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from edgematte.serve.replies import ApiError

MAX_FIELDS = 64
MAX_FILES = 4


@dataclass
class Fields:
    """A request's parameters (text) and files (bytes), whatever the body's encoding."""

    text: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def get(self, name: str, default: str | None = None) -> str | None:
        """A text parameter, stripped; `default` when absent or empty.

        Parameters
        ----------
        name
            The parameter's name, as remove.bg spells it.
        default
            What an absent parameter means. Default None.
        """
        value = self.text.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def data(self, file_name: str, b64_name: str | None = None) -> bytes | None:
        """Bytes sent as a file part, or as base64 text in `b64_name`; None when neither.

        Parameters
        ----------
        file_name
            The file field ('image_file').
        b64_name
            The base64 field ('image_file_b64'). Default None: none.
        """
        if file_name in self.files:
            return self.files[file_name]
        if b64_name and (text := self.text.get(b64_name)):
            try:
                payload = text.split(",", 1)[-1] if text.startswith("data:") else text
                return base64.b64decode("".join(payload.split()), validate=True)  # line-wrapped base64 too
            except (binascii.Error, ValueError) as exc:
                raise ApiError(400, f"{b64_name} is not valid base64", "invalid_parameter") from exc
        return None


async def read_body(request: Request, max_body: int, read_timeout: float) -> bytes:
    """The whole body, refused when larger than `max_body` (413) or slower than `read_timeout` (408).

    Parameters
    ----------
    request
        The Starlette request (its body is kept on it, so `request.form()` parses it afterwards).
    max_body
        Largest body in bytes.
    read_timeout
        Seconds allowed to receive all of it.
    """
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_body:
        raise ApiError(413, f"request body is {int(length)} bytes, over the {max_body} byte limit", "file_too_large")
    chunks: list[bytes] = []
    size = 0

    async def receive() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                raise ApiError(413, f"request body is over the {max_body} byte limit", "file_too_large")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(receive(), read_timeout)
    except TimeoutError as exc:
        raise ApiError(
            408, f"the upload took longer than {read_timeout:g} s; send it faster or smaller", "request_timeout"
        ) from exc
    body = b"".join(chunks)
    request._body = body  # Starlette reads a kept body instead of the (consumed) stream
    return body


async def read_fields(request: Request, max_body: int, read_timeout: float) -> Fields:
    """The parameters and files of a multipart, urlencoded or JSON body (or the query string).

    Parameters
    ----------
    request
        The Starlette request.
    max_body, read_timeout
        As for `read_body`.

    Query-string parameters are read too (a body's value wins): rembg's clients put `bgc` and
    `model` there.
    """
    fields = Fields(text={k: v for k, v in request.query_params.items()})
    if request.method == "GET":
        return fields
    body = await read_body(request, max_body, read_timeout)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            # Text fields may be as large as the body: remove.bg clients send image_file_b64 as one.
            form = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS, max_part_size=max_body)
        except (MultiPartException, HTTPException) as exc:
            detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
            raise ApiError(400, f"cannot read the form: {detail}", "invalid_body") from exc
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                fields.files[name] = await value.read()
            else:
                fields.text[name] = str(value)
        await form.close()
    elif ctype == "application/json":
        try:
            obj = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ApiError(400, f"the JSON body cannot be read: {exc}", "invalid_body") from exc
        if not isinstance(obj, dict):
            raise ApiError(400, "the JSON body must be an object of parameters", "invalid_body")
        for name, value in obj.items():
            if value is None:  # SDKs send null for options they leave unset
                continue
            fields.text[name] = (
                json.dumps(value)
                if isinstance(value, dict | list)
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
    elif body:
        raise ApiError(
            415,
            f"content type '{ctype or 'none'}' is not accepted: send multipart/form-data, "
            "application/x-www-form-urlencoded or application/json",
            "unsupported_media_type",
        )
    return fields
