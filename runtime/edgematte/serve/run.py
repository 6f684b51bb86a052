"""Starting the service: the binding rule, the keys, and uvicorn with graceful shutdown.

The rule: loopback (127.0.0.1, ::1, localhost) needs no key; any other address needs at least
one (`--api-key` or a keys file), or the service refuses to start, saying why. On SIGTERM or
Ctrl-C uvicorn stops accepting, lets in-flight requests finish (up to `GRACE` seconds), then
the pool finishes its jobs and releases the models.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from edgematte.errors import OptionError
from edgematte.serve.config import LOOPBACK_HOSTS, ServeConfig

GRACE = 30.0  # s: in-flight requests finish on shutdown; a 50 MP still takes a few seconds on a Pi


def read_keys(path: str | Path) -> tuple[str, ...]:
    """API keys from a file: one per line; blank lines and lines starting with '#' are skipped.

    Parameters
    ----------
    path
        The keys file (keep it readable by the service's user only).
    """
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise OptionError(f"cannot read the keys file {path}: {exc.strerror}") from exc
    keys = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))
    if not keys:
        raise OptionError(f"the keys file {path} has no keys")
    return keys


def require_extra() -> None:
    """OptionError (one line, exit 5) when the serve extra is not installed."""
    try:
        import multipart  # noqa: F401 - Starlette's form parser: every upload needs it
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise OptionError('edgematte serve needs its extra: pip install "edgematte[serve]"') from None


def check_binding(config: ServeConfig) -> None:
    """Refuse (OptionError) a non-loopback address without keys, and keys too short to be secret.

    Parameters
    ----------
    config
        The service's configuration.
    """
    if config.host not in LOOPBACK_HOSTS and not config.api_keys:
        raise OptionError(
            f"refusing to listen on {config.host} without an API key: anyone on that network could use this "
            "device; pass --api-key KEY (or --api-keys-file FILE), or keep the default 127.0.0.1"
        )
    for key in config.api_keys:
        if len(key) < 16:
            raise OptionError(
                'an API key must be at least 16 characters (e.g. `python -c "import secrets; '
                'print(secrets.token_urlsafe(24))"`)'
            )


def serve(config: ServeConfig) -> None:
    """Run the service until SIGTERM / Ctrl-C (blocking).

    Parameters
    ----------
    config
        The service's configuration (checked by `check_binding` first).
    """
    check_binding(config)
    require_extra()
    import uvicorn

    from edgematte.serve.app import create_app

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
            await super().startup(sockets)
            if self.started:
                for s in self.servers:
                    for sock in s.sockets:
                        host, port = sock.getsockname()[:2]
                        shown = f"[{host}]" if ":" in host else host
                        print(f"edgematte serve: listening on http://{shown}:{port}", file=sys.stderr, flush=True)

    uv = uvicorn.Config(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(GRACE),
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=64 * 1024,  # headers over 64 KB are not a remove.bg request
        lifespan="on",
    )
    # uvicorn re-raises the signal it stopped on once it has shut down; a SIGTERM (systemd's
    # stop, `docker stop`) is the normal way to stop a service, so it ends with exit code 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Server(uv).run()
