"""One request through the still path: decode, size, matte, layout, compose, encode.

The stages are the Session's (still.py): `Session.decode`, `Session.matte`, `Session.render`,
`Session.encode`. This module adds only what remove.bg's parameters ask between them: the
output size before the matte, and crop / scale / position / shadow (layout.py) after it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, replace

import cv2
import numpy as np

from edgematte.compositing import Backdrop
from edgematte.decode import DecodedImage
from edgematte.serve.layout import crop, over_colour, place, shadow, subject_box, with_shadow_alpha
from edgematte.serve.params import CutoutRequest
from edgematte.settings import FLATTEN_COLOUR
from edgematte.still import Output, Session

MEDIA = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "zip": "application/zip"}


@dataclass
class WorkerModels:
    """One worker's loaded models: an 'auto' Session (u2netp, the matting model and the router).

    Parameters
    ----------
    session
        Session('auto') with the service's models per kind: type=auto is routed as
        `--model auto` is (routing.py), type=person and type=product run one model.
    """

    session: Session

    @classmethod
    def load(cls, models: dict[str, str], threads: int | None, profile: str | None, max_pixels: int) -> WorkerModels:
        """Load every model once (the service's fixed pool holds one of these per worker).

        Parameters
        ----------
        models
            Kind ('person', 'product') -> model name (ServeConfig.models).
        threads, profile, max_pixels
            As for Session.
        """
        session = Session("auto", threads=threads, profile=profile, max_pixels=max_pixels, routes=models)
        # Warm-up: one small photo through every model and kernel now, so the first request does
        # not pay the kernels' first-call cost (seconds with Numba's cache cold).
        warm = np.full((96, 128, 3), 128, np.uint8)
        warm[24:72, 40:88] = (200, 60, 40)
        session.matte(warm)  # routed: the detector and u2netp
        session.matte(warm, kind="person")  # the matting model
        return cls(session)


@dataclass
class Cutout:
    """A finished response: its body, media type, size, the subject's kind and the model used."""

    body: bytes
    media_type: str
    width: int
    height: int
    kind: str
    model: str
    foreground: tuple[int, int, int, int]  # left, top, width, height of the subject in the result

    def headers(self) -> dict[str, str]:
        """remove.bg's response headers (and X-Model: which of our models ran)."""
        left, top, w, h = self.foreground
        return {
            "X-Width": str(self.width),
            "X-Height": str(self.height),
            "X-Type": self.kind,
            "X-Credits-Charged": "0",
            "X-Foreground-Left": str(left),
            "X-Foreground-Top": str(top),
            "X-Foreground-Width": str(w),
            "X-Foreground-Height": str(h),
            "X-Model": self.model,
        }


def fit_size(image: DecodedImage, max_pixels: int | None) -> DecodedImage:
    """The image scaled down (area filter) to at most `max_pixels`; unchanged when it fits.

    Parameters
    ----------
    image
        The decoded photo.
    max_pixels
        The request's size budget (params.SIZES), or None for the image's own size.
    """
    w, h = image.size
    if max_pixels is None or w * h <= max_pixels:
        return image
    s = (max_pixels / (w * h)) ** 0.5
    nw, nh = max(1, int(w * s)), max(1, int(h * s))
    rgb = cv2.resize(image.rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    alpha = None if image.alpha is None else cv2.resize(image.alpha, (nw, nh), interpolation=cv2.INTER_AREA)
    return DecodedImage(rgb, alpha, image.format, image.icc_converted)


def _compose(session: Session, m, rgba: np.ndarray, req: CutoutRequest, max_pixels: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    dark = shadow(rgba) if req.add_shadow else None
    laid_out = replace(m, rgba=rgba, _alpha=None, _fg=None)
    if req.bg_image is not None or (req.bg_color is not None and req.bg_color[3] == 255):
        backdrop = (
            Backdrop.parse(req.bg_image, max_pixels) if req.bg_image is not None else Backdrop(colour=req.bg_color[:3])  # type: ignore[index]
        )
        if dark is not None:
            h, w = rgba.shape[:2]
            shaded = backdrop.pixels(w, h).astype(np.float32) * (1.0 - dark[..., None])
            backdrop = Backdrop(image=np.clip(shaded + 0.5, 0, 255).astype(np.uint8))
        return session.render(laid_out, Output(background=backdrop, format=None))
    if req.bg_color is not None:
        return over_colour(rgba, req.bg_color, dark)
    return with_shadow_alpha(rgba, dark) if dark is not None else session.render(laid_out, Output(format=None))


def _format(req: CutoutRequest, pixels: np.ndarray) -> str:
    if req.format != "auto":
        return req.format
    if pixels.ndim == 2:
        return "png"
    return "png" if pixels.shape[2] == 4 and int(pixels[..., 3].min()) < 255 else "jpg"


def make_cutout(models: WorkerModels, data: bytes, req: CutoutRequest, max_pixels: int) -> Cutout:
    """Everything for one request, on a worker thread.

    Parameters
    ----------
    models
        This worker's loaded models.
    data
        The image file's bytes.
    req
        The validated request.
    max_pixels
        The service's decoded-pixel limit (also for a background image).
    """
    session = models.session
    image = session.decode(data)
    m = session.matte(fit_size(image, req.max_pixels), kind=None if req.kind == "auto" else req.kind)
    kind = m.kind
    rgba = m.rgba
    if req.crop:
        rgba = crop(rgba, req)
    if req.scale is not None or req.position is not None:
        rgba, _ = place(rgba, req)
    with m.timings.stage("compose"):
        pixels = rgba[..., 3].copy() if req.channels == "alpha" else _compose(session, m, rgba, req, max_pixels)
    fmt = "png" if req.channels == "alpha" and req.format in ("auto", "zip") else _format(req, pixels)
    if fmt == "jpg" and pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = Backdrop(colour=FLATTEN_COLOUR).over(pixels[..., :3], pixels[..., 3])  # JPEG has no alpha
    box = subject_box(rgba[..., 3])
    fg = (0, 0, 0, 0) if box is None else (box[0], box[1], box[2] - box[0], box[3] - box[1])
    if fmt == "zip":
        colour = pixels[..., :3] if pixels.ndim == 3 else pixels
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr("color.jpg", session.encode(np.ascontiguousarray(colour), Output(format="JPEG"), m.timings))
            z.writestr("alpha.png", session.encode(np.ascontiguousarray(rgba[..., 3]), Output(format="PNG"), m.timings))
        body = buf.getvalue()
    else:
        body = session.encode(
            np.ascontiguousarray(pixels), Output(format={"jpg": "JPEG"}.get(fmt, fmt.upper())), m.timings
        )
    h, w = pixels.shape[:2]
    return Cutout(body, MEDIA[fmt], w, h, kind, m.model, fg)
