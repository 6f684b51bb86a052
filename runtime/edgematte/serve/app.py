"""The Starlette application behind `edgematte serve`: routes, keys, limits and metrics.

Routes (every image route goes through cutout.make_cutout or a seller verb, on the pool):

    POST /v1.0/removebg   remove.bg's API (also /api/removebg, carvekit's path)
    GET  /v1.0/account    remove.bg's account answer (unlimited, no credits charged)
    POST /api/remove      rembg server's API (GET with ?url= when URLs are allowed)
    POST /v1/compose      seller verb: marketplace main image (file, preset, fill)
    POST /v1/check        seller verb: the pre-upload checklist, JSON findings (file, preset)
    POST /kiosk/matte     the kiosk page's live preview mask
    GET  /                the kiosk page; /kiosk/... its files
    GET  /healthz         liveness, no key needed; GET /metrics  Prometheus text
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import math
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from edgematte.errors import EdgematteError, ImageError, ImageTooLargeError, OptionError
from edgematte.serve.body import Fields, read_body, read_fields
from edgematte.serve.config import ServeConfig
from edgematte.serve.cutout import WorkerModels, make_cutout
from edgematte.serve.fetch import fetch_image
from edgematte.serve.kiosk_live import KioskLive
from edgematte.serve.metrics import Metrics
from edgematte.serve.params import CutoutRequest, rembg_request, removebg_request
from edgematte.serve.pool import ModelPool
from edgematte.serve.replies import ApiError, error_response

KIOSK = Path(__file__).with_name("kiosk")
OPEN_PATHS = ("/", "/healthz", "/favicon.ico")  # no key: the page itself and liveness (no data either way)
LIVE_IN_FLIGHT = 2  # preview frames matted or waiting at once: a kiosk page or two, each one frame at a time
log = logging.getLogger("edgematte.serve")


def _as_api_error(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ImageTooLargeError):
        return ApiError(413, str(exc), "image_too_large")
    if isinstance(exc, ImageError):
        return ApiError(415, f"not an image we can read: {exc}", "invalid_image")
    if isinstance(exc, OptionError):
        return ApiError(400, str(exc), "invalid_parameter")
    if isinstance(exc, EdgematteError):
        return ApiError(400, str(exc), "invalid_request")
    log.exception("internal error")
    return ApiError(500, f"internal error ({type(exc).__name__}); the service log has the details", "internal_error")


class Service:
    """The running service's state: config, model pool, kiosk matter and metrics.

    Parameters
    ----------
    config
        Every limit and default (ServeConfig).
    """

    def __init__(self, config: ServeConfig):
        self.config = config
        self.metrics = Metrics()
        self.pool: ModelPool | None = None
        self.live = KioskLive(profile=config.profile)
        self.started = time.time()
        self._keys = [k.encode() for k in config.api_keys]
        self.live_in_flight = 0  # preview frames being matted or waiting (event loop thread only)

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the pool's models (every worker's) before the first request is accepted."""
        from edgematte.profiles import get_profile

        c = self.config
        prof = get_profile(c.profile)
        threads = c.threads or prof.threads
        workers = c.workers or max(1, (os.cpu_count() or 1) // threads)
        self.pool = ModelPool(
            lambda: WorkerModels.load(c.models, threads, c.profile, c.max_pixels), workers, c.queue, c.timeout
        )

    def stop(self) -> None:
        """Finish running jobs, then release every model."""
        if self.pool is not None:
            self.pool.close()
        self.live.close()

    # -- checks ---------------------------------------------------------------------------------

    def check_key(self, request: Request) -> None:
        """403 unless the request's X-Api-Key is one of the keys (constant time); no keys: open."""
        if (
            not self._keys
            or request.url.path in OPEN_PATHS
            or (request.url.path.startswith("/kiosk/") and request.method == "GET")
        ):
            return
        given = request.headers.get("x-api-key", "").encode()
        ok = False
        for key in self._keys:  # every key compared, always: the time does not say which one nearly matched
            ok |= hmac.compare_digest(given, key)
        if not ok:
            raise ApiError(403, "missing or wrong X-Api-Key", "auth_failed")

    async def fields(self, request: Request) -> Fields:
        """The request's parameters within the body limits."""
        return await read_fields(request, self.config.max_body, self.config.read_timeout)

    async def url_bytes(self, url: str) -> bytes:
        """Fetch image_url / bg_image_url when allowed (off the event loop)."""
        if not self.config.allow_urls:
            raise ApiError(
                400, "image URLs are off on this service (start it with --allow-urls); send the file", "urls_disabled"
            )
        return await asyncio.to_thread(fetch_image, url, self.config.max_body, self.config.read_timeout)

    async def cutout(self, data: bytes, req: CutoutRequest, request: Request) -> Response:
        """Run one cut-out on the pool and answer as the client asked (image or JSON)."""
        assert self.pool is not None
        result = await self.pool.submit(
            request.state.place, lambda models: make_cutout(models, data, req, self.config.max_pixels)
        )
        headers = result.headers()
        if "application/json" in request.headers.get("accept", ""):
            left, top, w, h = result.foreground
            return JSONResponse(
                {
                    "data": {
                        "result_b64": base64.b64encode(result.body).decode(),
                        "foreground_top": top,
                        "foreground_left": left,
                        "foreground_width": w,
                        "foreground_height": h,
                    }
                },
                headers=headers,
            )
        return Response(result.body, media_type=result.media_type, headers=headers)


def _image_of(fields: Fields) -> tuple[bytes | None, str | None]:
    data = fields.data("image_file", "image_file_b64")
    url = fields.get("image_url")
    given = sum(x is not None for x in (fields.files.get("image_file"), fields.get("image_file_b64"), url))
    if given != 1:
        raise ApiError(400, "give exactly one of image_file, image_file_b64 or image_url", "missing_source")
    if data is not None and len(data) == 0:
        raise ApiError(400, "the image file is empty (0 bytes)", "invalid_image")
    return data, url


def routes(svc: Service) -> list[Any]:
    """The application's routes over a Service."""

    async def removebg(request: Request) -> Response:
        fields = await svc.fields(request)
        data, url = _image_of(fields)
        if data is None:
            data = await svc.url_bytes(url)  # type: ignore[arg-type]
        bg = fields.data("bg_image_file")
        if bg is None and (bg_url := fields.get("bg_image_url")):
            bg = await svc.url_bytes(bg_url)
        req = removebg_request(fields, svc.config.default_size, bg)
        return await svc.cutout(data, req, request)

    async def account(request: Request) -> Response:
        return JSONResponse(
            {
                "data": {
                    "attributes": {
                        "credits": {"total": 0, "subscription": 0, "payg": 0, "enterprise": 0},
                        "api": {"free_calls": 1_000_000_000, "sizes": "all"},
                    }
                }
            }
        )

    async def rembg_remove(request: Request) -> Response:
        fields = await svc.fields(request)
        if request.method == "GET":
            url = fields.get("url")
            if url is None:
                raise ApiError(400, "GET /api/remove needs ?url=; or POST the file as 'file'", "missing_source")
            data = await svc.url_bytes(url)
        else:
            data = fields.files.get("file")
            if data is None:
                raise ApiError(400, "POST /api/remove needs the image as the multipart field 'file'", "missing_source")
            if not data:
                raise ApiError(400, "the image file is empty (0 bytes)", "invalid_image")
        return await svc.cutout(data, rembg_request(fields), request)

    async def compose(request: Request) -> Response:
        from edgematte.commerce.api import compose as compose_verb

        fields = await svc.fields(request)
        data = fields.files.get("file") or fields.files.get("image_file")
        if not data:
            raise ApiError(400, "send the product photo as the multipart field 'file'", "missing_source")
        preset = fields.get("preset", "amazon")
        fill = fields.get("fill")
        try:
            fill_v = None if fill is None else float(fill)
        except ValueError:
            raise ApiError(400, f"fill must be a number 0.05..1, not {fill!r}", "invalid_parameter") from None

        def job(models: WorkerModels):  # type: ignore[no-untyped-def]
            return compose_verb(data, preset, fill=fill_v, session=models.session)

        made = await svc.pool.submit(request.state.place, job)  # type: ignore[union-attr]
        media = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff"}
        return Response(
            made.data,
            media_type=media.get(made.format, "application/octet-stream"),
            headers={"X-Warnings": json.dumps(made.warnings)[:4000]},
        )

    async def check(request: Request) -> Response:
        from edgematte.commerce.api import check as check_verb

        fields = await svc.fields(request)
        data = fields.files.get("file") or fields.files.get("image_file")
        if not data:
            raise ApiError(400, "send the product photo as the multipart field 'file'", "missing_source")
        preset = fields.get("preset")
        report = await svc.pool.submit(  # type: ignore[union-attr]
            request.state.place, lambda models: check_verb(data, preset, session=models.session)
        )
        return JSONResponse(report.as_dict())

    async def kiosk_matte(request: Request) -> Response:
        body = await read_body(request, 4 * 1024 * 1024, svc.config.read_timeout)
        if not body:
            raise ApiError(400, "send the preview frame (a JPEG) as the body", "missing_source")
        try:
            ts = float(request.headers.get("x-timestamp-ms", "0"))
            if not math.isfinite(ts):
                raise ValueError
        except ValueError:
            raise ApiError(400, "X-Timestamp-Ms must be a finite number", "invalid_parameter") from None
        if svc.live_in_flight >= LIVE_IN_FLIGHT:  # a page sends one frame at a time: more is a flood
            raise ApiError(
                429,
                "preview frames are arriving faster than they are matted; send one at a time",
                "rate_limit_exceeded",
                {"Retry-After": "1"},
            )
        svc.live_in_flight += 1
        try:
            png = await asyncio.to_thread(svc.live.mask_png, body, ts)
        finally:
            svc.live_in_flight -= 1
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def index(request: Request) -> Response:
        return FileResponse(KIOSK / "index.html", headers={"Cache-Control": "no-cache"})

    async def healthz(request: Request) -> Response:
        ready = svc.pool is not None
        return JSONResponse(
            {"status": "ok" if ready else "starting", "uptime_s": round(time.time() - svc.started, 1)},
            status_code=200 if ready else 503,
        )

    async def metrics(request: Request) -> Response:
        p = svc.pool
        text = svc.metrics.text(p.depth if p else 0, p.waiting if p else 0, p.workers if p else 0)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    def guarded(handler, pooled: bool = False):  # type: ignore[no-untyped-def]
        async def run(request: Request) -> Response:
            try:
                svc.check_key(request)
                if not pooled:
                    return await handler(request)
                assert svc.pool is not None
                async with svc.pool.place() as place:  # before the body is read: bodies in memory are bounded
                    request.state.place = place
                    return await handler(request)
            except ClientDisconnect:
                return Response(status_code=400)  # nobody to answer; not an error of ours
            except Exception as exc:  # every failure answers in remove.bg's error shape
                return error_response(_as_api_error(exc))

        return run

    return [
        Route("/", guarded(index)),
        Route("/v1.0/removebg", guarded(removebg, pooled=True), methods=["POST"]),
        Route("/api/removebg", guarded(removebg, pooled=True), methods=["POST"]),
        Route("/v1.0/account", guarded(account)),
        Route("/api/remove", guarded(rembg_remove, pooled=True), methods=["GET", "POST"]),
        Route("/v1/compose", guarded(compose, pooled=True), methods=["POST"]),
        Route("/v1/check", guarded(check, pooled=True), methods=["POST"]),
        Route("/kiosk/matte", guarded(kiosk_matte), methods=["POST"]),
        Route("/healthz", healthz),
        Route("/metrics", guarded(metrics)),
        Mount("/kiosk", StaticFiles(directory=KIOSK, check_dir=False), name="kiosk"),
    ]


KNOWN = {
    "/",
    "/v1.0/removebg",
    "/api/removebg",
    "/v1.0/account",
    "/api/remove",
    "/v1/compose",
    "/v1/check",
    "/kiosk/matte",
    "/healthz",
    "/metrics",
}


class _Observe:
    """ASGI middleware: time every HTTP request and count its status (Metrics)."""

    def __init__(self, app: Any, svc: Service):
        self.app = app
        self.svc = svc

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def sending(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = scope.get("path", "")
            route = path if path in KNOWN else "/kiosk/*" if path.startswith("/kiosk/") else "other"
            self.svc.metrics.observe(route, status, time.perf_counter() - t0)


def create_app(config: ServeConfig | None = None) -> Any:
    """The ASGI application for `config` (models load at start-up, before the first request).

    Parameters
    ----------
    config
        The service's configuration. Default None: ServeConfig() (loopback, no keys).
    """
    svc = Service(config or ServeConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        await asyncio.to_thread(svc.start)
        try:
            yield
        finally:
            await asyncio.to_thread(svc.stop)

    middleware = []
    if not svc.config.api_keys:
        # No keys means "this device only": refuse other Host names, so a web page the kiosk's browser
        # visits cannot reach the service through DNS rebinding.
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "[::1]", "::1"]))
    app = Starlette(routes=routes(svc), lifespan=lifespan, middleware=middleware)
    app.state.service = svc
    return _Observe(app, svc)
