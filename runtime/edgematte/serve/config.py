"""ServeConfig: the service's limits and defaults, each with the reason for its value."""

from __future__ import annotations

from dataclasses import dataclass, field

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class ServeConfig:
    """Everything `edgematte serve` is configured with.

    Parameters
    ----------
    host, port
        Where to listen. Default 127.0.0.1:7000: only this device; another host needs keys.
    api_keys
        Keys accepted in `X-Api-Key` (constant-time compare). Default empty: no key needed, which
        `run.check_binding` only allows on loopback.
    workers
        Photos processed at once, each with its own loaded models. Default None: cores divided
        by the device profile's threads (1 on a 2-core desktop, 1 on a Pi 4 with 4 threads).
    threads
        Inference and kernel threads per worker. Default None: the device profile's.
    queue
        Requests that may wait for a worker. Default 8: enough to absorb a burst from a few
        kiosks, small enough that a full queue answers 429 in well under its timeout.
    max_body
        Largest request body, bytes. Default 25 MB (remove.bg accepts files up to 22 MB; base64
        adds a third).
    max_pixels
        Largest decoded image. Default 50 MP: remove.bg's own input limit, and about 1 GB of
        working memory per worker at that size, which a 4 GB Pi can afford.
    read_timeout
        Seconds to receive a whole request body: a slow upload is cut off (408). Default 30.
    timeout
        Seconds from arrival to answer, queue wait included (503 after). Default 60.
    allow_urls
        Accept `image_url` / `bg_image_url` (public http(s) addresses only). Default False: a
        service that fetches URLs can be pointed at the network it sits in.
    default_size
        remove.bg's `size` when a request gives none. Default 'preview' (remove.bg's default,
        0.25 MP), so an existing client gets what it got before; 'full' for the original size.
    models
        type -> model: what `type=person` and `type=product` run. Default MODNet for people
        (hair, soft edges), u2netp for everything else.
    """

    host: str = "127.0.0.1"
    port: int = 7000
    api_keys: tuple[str, ...] = ()
    workers: int | None = None
    threads: int | None = None
    queue: int = 8
    max_body: int = 25 * 1024 * 1024
    max_pixels: int = 50_000_000
    read_timeout: float = 30.0
    timeout: float = 60.0
    allow_urls: bool = False
    default_size: str = "preview"
    profile: str | None = None
    models: dict[str, str] = field(default_factory=lambda: {"person": "portrait", "product": "product"})
