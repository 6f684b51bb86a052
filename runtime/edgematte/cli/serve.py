"""`serve`: the local HTTP service (remove.bg- and rembg-compatible API, kiosk page); serve/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgematte.cli.common import ProfileOpt, ThreadsOpt


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Another than loopback needs a key.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", "-p", help="Port (0: any free port, printed at start).")] = 7000,
    api_key: Annotated[
        list[str] | None, typer.Option("--api-key", help="Accept this X-Api-Key (repeatable; >= 16 characters).")
    ] = None,
    api_keys_file: Annotated[
        Path | None, typer.Option("--api-keys-file", help="A file of keys, one per line ('#' comments).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Photos at once, each with its own models (default: cores/threads).")
    ] = None,
    threads: ThreadsOpt = None,
    queue: Annotated[int, typer.Option("--queue", help="Requests that may wait; one more gets 429.")] = 8,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", help="Largest request body, MB.")] = 25.0,
    max_megapixels: Annotated[float, typer.Option("--max-megapixels", help="Largest decoded image, MP.")] = 50.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a request may take (503 after).")] = 60.0,
    read_timeout: Annotated[float, typer.Option("--read-timeout", help="Seconds to receive a body (408).")] = 30.0,
    allow_urls: Annotated[
        bool, typer.Option("--allow-urls", help="Fetch image_url / bg_image_url (public addresses only).")
    ] = False,
    default_size: Annotated[
        str, typer.Option("--default-size", help="remove.bg size when a request gives none (preview, full, ...).")
    ] = "preview",
    profile: ProfileOpt = None,
) -> None:
    """Serve the still path over HTTP: remove.bg's API, rembg's, the seller verbs and the kiosk page."""
    from edgematte.errors import OptionError
    from edgematte.serve.run import read_keys, require_extra, serve

    require_extra()
    from edgematte.serve.config import ServeConfig
    from edgematte.serve.params import SIZES

    keys = tuple(api_key or ())
    if api_keys_file is not None:
        keys += read_keys(api_keys_file)
    if default_size.lower() not in SIZES:
        raise OptionError(f"--default-size {default_size}: one of {', '.join(SIZES)}")
    if queue < 0 or (workers is not None and workers < 1):
        raise OptionError("--queue must be >= 0 and --workers >= 1")
    serve(
        ServeConfig(
            host=host,
            port=port,
            api_keys=keys,
            workers=workers,
            threads=threads,
            queue=queue,
            max_body=int(max_body_mb * 1024 * 1024),
            max_pixels=int(max_megapixels * 1e6),
            read_timeout=read_timeout,
            timeout=timeout,
            allow_urls=allow_urls,
            default_size=default_size.lower(),
            profile=profile,
        )
    )


def register(app: typer.Typer) -> None:
    """Add `serve` to the app."""
    app.command()(serve)
