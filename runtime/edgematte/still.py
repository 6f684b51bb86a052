"""The still path: one photo through every stage, in order. Every caller goes through here.

    decode -> prepare -> infer -> refine -> foreground -> cut-out -> compose -> encode

`Session` owns the path. It holds the loaded model and the settings, and has one method per
group of stages, top to bottom: `decode`; `matte` (prepare, infer, refine, foreground and the
full-resolution cut-out), itself `prepare`, `infer` and `complete`, which a batch runs in three
threads so the next photo's invoke overlaps this one's kernels; `render` (compose); `encode`.
`process` runs them all in order and `remove` hands back what the caller gave (bytes -> bytes,
PIL -> PIL, array -> array, path -> a file). `edgematte.remove()`, the CLI's batches, the
seller verbs and `edgematte bench` call these methods; none of them re-implements a stage. The
maths lives in the stage modules (decode.py, infer.py, refine.py, kernels/, compose.py,
encode.py); this module only orders them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgematte.compositing import Backdrop, Background
from edgematte.decode import DecodedImage, decode
from edgematte.errors import OptionError, SessionClosedError
from edgematte.formats import format_for_path, has_alpha, writable_format
from edgematte.routing import NO_FACE, PERSON, PORTRAIT, PRODUCT, UNSURE
from edgematte.settings import FLATTEN_COLOUR, MAX_PIXELS, StillSettings, still_settings_for
from edgematte.timings import Timings

AUTO = "auto"  # Session(model=...): each photo's model chosen by routing.py

if TYPE_CHECKING:
    from edgematte.infer import ModelInput, ModelStage
    from edgematte.models import ModelCard
    from edgematte.routing import PersonDetector


@dataclass(frozen=True)
class Output:
    """What to make of a matte (the compose stage) and how to write it (the encode stage).

    Parameters
    ----------
    mask_only
        Produce the alpha mask alone (greyscale). Default False: a cut-out or a composite.
    background
        Compose onto this Backdrop (a colour or an image). Default None: a transparent cut-out,
        or, for a format without alpha (JPEG), the cut-out on `settings.FLATTEN_COLOUR` (white).
    format
        'PNG', 'WEBP', 'JPEG' or 'TIFF' (any spelling formats.normalise_format takes), or None
        for pixels that are not encoded (a caller that wants an array or a PIL image).
    quality
        JPEG / WebP quality. Default None: the encoder's (settings.JPEG_QUALITY, WEBP_QUALITY).
    """

    mask_only: bool = False
    background: Backdrop | None = None
    format: str | None = "PNG"
    quality: int | None = None

    def __post_init__(self) -> None:
        if self.mask_only and self.background is not None:
            raise OptionError("a mask cannot also be composited: choose mask_only or a background")
        if self.format is not None:
            object.__setattr__(self, "format", writable_format(self.format))
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise OptionError(f"quality {self.quality} is outside 1..100")

    @classmethod
    def of(
        cls,
        *,
        mask_only: bool = False,
        bg: Background = None,
        format: str | None = "PNG",
        quality: int | None = None,
        max_pixels: int = MAX_PIXELS,
    ) -> Output:
        """An Output from a caller's options; `bg` is parsed here, once (see Backdrop.parse)."""
        background = None if bg is None else Backdrop.parse(bg, max_pixels)
        return cls(mask_only, background, format, quality)


@dataclass
class Prepared:
    """A photo after the prepare stage: what infer and complete need, and its settings and timings."""

    image: DecodedImage
    work: np.ndarray  # hxwx3 uint8, the working image
    model_input: ModelInput
    settings: StillSettings
    timings: Timings
    card: ModelCard | None = None  # the model it goes to (None: the session's)
    kind: str = ""  # under 'auto': 'person' or 'product' (the model's kind of subject); "" otherwise
    alternative: Prepared | None = None  # 'auto', a face: the same photo prepared for the matting model
    unsure_face: bool = False  # 'auto': the face was one the detector is unsure of (routing.py: more checks)

    def notes(self) -> list[str]:
        """The decoded image's warnings (several frames, ...), for the batch report."""
        return self.image.notes()


@dataclass
class Inferred:
    """A photo after the infer stage: the model's map (after the temporal stage, for frames)."""

    prepared: Prepared
    map: np.ndarray  # float32 hxw in 0..1 at the model's resolution (the working size after a second look)
    model: str  # the model that actually ran
    invokes: int = 1  # model invokes this map took (mirror averaging, second look)
    kind: str = ""  # 'person' or 'product' under 'auto' (whose matte this is); "" for a named model


@dataclass
class Matte:
    """What the still path makes of one photo, before compose and encode."""

    rgb: np.ndarray  # HxWx3 uint8, the decoded photo
    rgba: np.ndarray  # HxWx4 uint8 cut-out: estimated foreground colours (or the photo's) + alpha
    # The model's map (float 0..1), letterbox removed: its resolution, or the working size after a second look.
    mask_lowres: np.ndarray
    model: str  # the model that actually ran (MODNet's orientation twin, when it was picked)
    timings: Timings
    invokes: int = 1  # model invokes it took: 1, 2 with a second look or mirror averaging, 4 with both
    studio: str = ""  # studio mode's note (what it did, or why the photo is not a studio shot); "" when off
    kind: str = ""  # under 'auto': 'person' (the matting model's matte) or 'product' (u2netp's); "" otherwise
    _alpha: np.ndarray | None = field(default=None, repr=False)
    _fg: np.ndarray | None = field(default=None, repr=False)

    @property
    def alpha(self) -> np.ndarray:
        """HxW uint8 alpha (contiguous)."""
        if self._alpha is None:
            self._alpha = np.ascontiguousarray(self.rgba[..., 3])
        return self._alpha

    @property
    def cutout_rgb(self) -> np.ndarray:
        """HxWx3 uint8 foreground colours (contiguous)."""
        if self._fg is None:
            self._fg = np.ascontiguousarray(self.rgba[..., :3])
        return self._fg


@dataclass
class Result:
    """A photo through the whole still path: its matte, the composed pixels and the encoded file."""

    matte: Matte
    pixels: np.ndarray  # HxW (mask), HxWx3 (composite) or HxWx4 (cut-out) uint8
    data: bytes | None  # the encoded file, None when Output.format is None

    @property
    def timings(self) -> Timings:
        """Every stage's time, decode to encode."""
        return self.matte.timings


class Session:
    """The still path with its model loaded once: call it for every photo (thread-safe).

    Parameters
    ----------
    model
        A model name ('u2netp-int8'), family ('u2netp') or alias ('product', 'portrait'); see
        `edgematte models`. 'auto': each photo's own choice (routing.py): a portrait (a big
        enough face) goes to the matting model (MODNet, 'portrait'), anything else to u2netp
        ('product'), each in the device profile's variant; `Matte.model` names the one that ran.
        Default None: 'auto'. The matting model loads at the first portrait.
    threads
        Threads for inference (XNNPACK) and the post-processing kernels. Default None: the
        device profile's (2 on x86 desktops, 4 on boards).
    profile
        Device profile name ('pi5', 'desktop-x86', ...). Default None: detected.
    settings
        Every stage's numbers (StillSettings). Default None: `settings.still_settings_for` the
        model's kind (segmentation or matting).
    max_pixels
        Refuse larger images. Default `settings.MAX_PIXELS` (100 MP).
    best
        Average the model with its mirror image: one more invoke per look for ~+0.2-0.5 IoU
        points on segmentation models. Default False (see InferSettings.tta_flip).
    looks
        2: look again at the subject's crop when it is small in the frame (looks.py; about one
        more invoke on 45-90% of photos, +1.3 IoU points on grabcut50); 1: one invoke per photo.
        Default None: the device profile's (2 on x86; 1 on boards, whose budgets assume one).
        Ignored when `settings` is given.
    studio
        Studio mode (studio.py): on photos with a plain backdrop, alpha inside the product follows
        its difference from the backdrop, so glass stays partly transparent. Default False: it
        would also thin a white product on white. Photos without a smooth backdrop are left as
        they are (Matte.studio says why). With 'auto', portraits are left out (a white shirt on a
        white wall would thin).
    routes
        For 'auto': {'product': model, 'person': model}, either or both. Default None: 'product'
        (u2netp) and 'portrait' (MODNet), in the profile's variants. Ignored for a named model.

    `matte` takes one photo at a time per Session (a lock bounds memory); use one Session per
    worker thread to process several at once. A batch (batch.run_batch) runs the stages of up
    to ~9 photos at once in its four threads (each stage one photo, at most two waiting between
    two stages), with only `infer` under the lock.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        threads: int | None = None,
        profile: str | None = None,
        settings: StillSettings | None = None,
        max_pixels: int = MAX_PIXELS,
        best: bool = False,
        looks: int | None = None,
        studio: bool = False,
        routes: dict[str, str] | None = None,
    ):
        from edgematte.infer import ModelStage
        from edgematte.models import resolve
        from edgematte.profiles import get_profile

        prof = get_profile(profile)
        self.auto = model is None or model.strip().lower() == AUTO
        routes = {PRODUCT: "product", PERSON: "portrait"} | (routes or {})
        self.card = resolve(routes[PRODUCT] if self.auto else model, prof.name)
        self.threads = threads or prof.threads
        looks = looks or prof.looks
        self.settings = settings or still_settings_for(self.card.kind, best, looks)
        if studio:
            self.settings = self.settings.with_(studio=replace(self.settings.studio, enabled=True))
        self.person_card: ModelCard | None = None  # the matting model, for 'auto'
        self.person_settings: StillSettings | None = None  # its settings
        self._router: PersonDetector | None = None
        if self.auto:
            from edgematte.routing import PersonDetector

            self.person_card = resolve(routes[PERSON], prof.name)
            self.person_settings = settings or still_settings_for(self.person_card.kind, best, looks)
            self._router = PersonDetector(profile=prof.name)
        self.max_pixels = max_pixels
        self._stages: dict[str, ModelStage] | None = {self.card.name: ModelStage(self.card, self.threads)}
        self._lock = threading.RLock()  # matte holds it across the stages; infer alone in a pipeline

    @property
    def model(self) -> str:
        """The model this session runs: its card's name, or 'auto' (then `Matte.model` says which ran)."""
        return AUTO if self.auto else self.card.name

    @property
    def models(self) -> list[str]:
        """The names of every model this session may run: one, or u2netp's and the matting model's for 'auto'."""
        return [self.card.name] + ([self.person_card.name] if self.person_card is not None else [])

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the interpreters (and their arenas) now rather than at garbage collection.

        Any later call raises SessionClosedError.
        """
        self._stages = None
        self._router = None

    def _open_stages(self) -> dict[str, ModelStage]:
        stages = self._stages
        if stages is None:
            raise SessionClosedError(f"this Session ({self.model}) was closed; create a new Session")
        return stages

    def _stage_for(self, card: ModelCard) -> ModelStage:
        """The loaded model for a card, loading it now the first time (the matting model of 'auto')."""
        from edgematte.infer import ModelStage

        stages = self._open_stages()
        if card.name not in stages:
            with self._lock:
                if card.name not in stages:
                    stages[card.name] = ModelStage(card, self.threads)
        return stages[card.name]

    def route(self, image: DecodedImage) -> str:
        """The photo's face tier under 'auto' (routing.py): PORTRAIT, UNSURE or NO_FACE.

        PORTRAIT photos go through both models (see `infer`); UNSURE ones through the matting
        model only when the selfie segmenter and the matte's soft edge agree; NO_FACE ones (and
        every photo of a named model) through u2netp alone.

        Parameters
        ----------
        image
            The decoded photo.
        """
        router = self._router
        if router is None or self.person_card is None:
            return NO_FACE
        return router.tier(image.rgb)

    # -- decode ---------------------------------------------------------------------------------

    def decode(self, data: Any, timings: Timings | None = None) -> DecodedImage:
        """The decode stage (decode.py) under this session's pixel limit.

        Parameters
        ----------
        data
            A path, image-file bytes, a PIL image, an RGB(A) array, or a DecodedImage.
        timings
            Where to record the 'decode' stage. Default None: not recorded.
        """
        self._open_stages()
        if isinstance(data, DecodedImage):
            return data
        t = timings if timings is not None else Timings()
        with t.stage("decode"):
            return decode(data, self.max_pixels)

    # -- prepare, infer, refine, foreground, cut-out ---------------------------------------------

    def prepare(
        self,
        data: Any,
        settings: StillSettings | None = None,
        timings: Timings | None = None,
        kind: str | None = None,
    ) -> Prepared:
        """The prepare stage: the working image and the model's input (no interpreter: any thread).

        Parameters
        ----------
        data
            Anything `decode` takes (decoded here first when it is not a DecodedImage).
        settings
            This photo's StillSettings, kept for its later stages. Default None: the session's
            for the model the photo goes to.
        timings
            Timings to add the stages to. Default None: a new one (in `Matte.timings` at the end).

        kind
            For 'auto' only: 'person' (the matting model alone) or 'product' (u2netp alone), as
            remove.bg's `type`. Default None: routed (routing.py).

        With 'auto', the 'route' stage (routing.py) first asks whether the photo is a portrait;
        a portrait is prepared for both models (see `infer`).
        """
        if kind not in (None, PERSON, PRODUCT):
            raise OptionError(f"kind must be '{PERSON}' or '{PRODUCT}', not {kind!r}")
        if kind is not None and self.person_card is None:
            raise OptionError(f"kind={kind!r} needs Session('auto'); this one runs {self.card.name} only")
        t = timings if timings is not None else Timings()
        image = self.decode(data, t)
        if kind == PERSON and self.person_card is not None:
            return self._prepare_for(self.person_card, image, settings, t, PERSON)
        tier = NO_FACE
        if self._router is not None and kind is None:
            with t.stage("route"):
                tier = self.route(image)
        p = self._prepare_for(self.card, image, settings, t, PRODUCT if self.auto else "")
        if tier in (PORTRAIT, UNSURE) and self.person_card is not None:
            p.alternative = self._prepare_for(self.person_card, image, settings, t, PERSON)
            p.unsure_face = tier == UNSURE
        return p

    def _prepare_for(
        self, card: ModelCard, image: DecodedImage, settings: StillSettings | None, t: Timings, kind: str
    ) -> Prepared:
        from edgematte.infer import working_image
        from edgematte.kernels import use_threads

        model = self._stage_for(card)
        s = settings or (self.person_settings if card is self.person_card else None) or self.settings
        use_threads(self.threads)  # Numba's thread count is per thread: a batch's reader runs this
        with t.stage("prepare"):
            work = working_image(image.rgb, image.alpha, s.work_long_side)
        return Prepared(image, work, model.prepare(work, t), s, t, card, kind)

    def infer(self, p: Prepared, temporal: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> Inferred:
        """The infer stage: one look (two invokes with mirror averaging), and a second look on the
        subject's crop when the first shows a small subject (looks.py); one photo at a time per Session.

        A portrait under 'auto' (`p.alternative`) also goes through the matting model, whose
        matte is kept when it cuts out the same subject as u2netp's map (routing.same_subject):
        MODNet then gives the hair its soft alpha; otherwise the photo's subject is something
        the person holds or stands by (a product shot with a model), and u2netp's map is kept.
        A face the detector was unsure of (`p.unsure_face`) goes to the matting model only when
        the selfie segmenter cuts out u2netp's subject too, and its matte is kept only when it
        also has a soft edge all round (fur: routing.soft_edge_width); else u2netp's map stands.

        Parameters
        ----------
        p
            From `prepare`.
        temporal
            For frames of a video: the temporal stage between infer and refine, called with
            (model input, model map) and returning the map to refine (live.temporal.Stabiliser).
            Frames get no second look and no second model. Default None: a photo, no temporal stage.
        """
        first = self._infer_one(p, temporal)
        if p.alternative is None or temporal is not None:
            return first
        from edgematte.routing import SOFT_EDGE_PX, same_subject, soft_edge_width

        router = self._router
        if p.unsure_face and router is not None:
            with p.timings.stage("route"):
                creature = router.segmenter_agrees(p.work, first.map)
            if not creature:
                return first
        matting = self._infer_one(p.alternative, None)
        invokes = first.invokes + matting.invokes
        with p.timings.stage("route"):
            keep = same_subject(first.map, matting.map)
            if keep and p.unsure_face:
                keep = soft_edge_width(matting.map) >= SOFT_EDGE_PX
        chosen = matting if keep else first
        return replace(chosen, invokes=invokes)

    def _infer_one(self, p: Prepared, temporal: Callable[[np.ndarray, np.ndarray], np.ndarray] | None) -> Inferred:
        model = self._stage_for(p.card or self.card)
        infer_settings = p.settings.infer
        if temporal is not None and (infer_settings.second_look or infer_settings.wide_look):
            # Frames keep one look: the temporal stage compares maps of the same framing, and a
            # crop that moves with the subject from frame to frame (or a map from another input
            # size every few frames) would flicker.
            infer_settings = replace(infer_settings, second_look=False, wide_look=False)
        with self._lock:
            prediction = model.infer(p.model_input, infer_settings, p.timings)
        model_map = prediction.map
        if temporal is not None:
            with p.timings.stage("temporal"):
                model_map = temporal(prediction.input, model_map)
        return Inferred(p, model_map, prediction.card.name, prediction.invokes, p.kind)

    def complete(self, i: Inferred) -> Matte:
        """refine (guided filter at the working size), foreground (blur-fusion colour means) and
        full_res (one pass over the full-size photo that writes alpha and foreground colours into
        the RGBA cut-out), then studio mode when it is on (studio.py): the Matte. No interpreter
        involved: it may run in another thread while the next photo's infer runs (batch.run_batch
        does).

        Parameters
        ----------
        i
            From `infer`.
        """
        import cv2

        from edgematte.kernels import use_threads
        from edgematte.kernels.cutout import cutout_rgba
        from edgematte.refine import NO_ALPHA, fit, foreground

        p, s, t = i.prepared, i.prepared.settings, i.prepared.timings
        image = p.image
        use_threads(self.threads)
        with t.stage("refine"):
            f = fit(p.work, i.map, s.refine)
        with t.stage("foreground"):
            means = foreground(f, s.foreground)
        with t.stage("full_res"):
            rgba = cv2.cvtColor(image.rgb, cv2.COLOR_RGB2RGBA)
            has_alpha = image.alpha is not None
            src_alpha = image.alpha if has_alpha else NO_ALPHA
            cutout_rgba(image.rgb, rgba, f.coef, means, f.state, src_alpha, has_alpha, s.foreground.enabled)
        if s.foreground.enabled and s.foreground.despill:
            from edgematte.despill import despill

            with t.stage("despill"):
                despill(image.rgb, rgba, means, s.foreground)
        note = ""
        if s.studio.enabled:
            from edgematte import studio

            with t.stage("studio"):
                backdrop, note = studio.fit_backdrop(p.work, f.alpha, s.studio)
                if backdrop is not None:
                    clear = studio.apply(image.rgb, rgba, backdrop, s.studio)
                    note += f"; {100 * clear:.0f}% of the subject made clear"
        return Matte(image.rgb, rgba, i.map, i.model, t, i.invokes, note, i.kind)

    def matte(
        self,
        data: Any,
        settings: StillSettings | None = None,
        timings: Timings | None = None,
        temporal: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        kind: str | None = None,
    ) -> Matte:
        """Everything between decode and compose: the alpha and foreground colours of one photo.

        Parameters
        ----------
        data
            Anything `decode` takes (decoded here first when it is not a DecodedImage).
        settings
            This call's StillSettings. Default None: the session's.
        timings
            Timings to add the stages to. Default None: a new one (in `Matte.timings`).
        temporal
            For frames of a video: the temporal stage between infer and refine (see `infer`).
            Default None: a photo, no temporal stage.
        kind
            For 'auto': 'person' or 'product' to skip the routing (see `prepare`). Default None.

        The stages, in order: `prepare` (the route with 'auto', the working image, then the model's input), `infer`
        (one look or two, see `infer`), `complete` (refine, foreground, full_res).
        One photo at a time per Session goes through all of them here (memory stays bounded).
        """
        with self._lock:
            return self.complete(self.infer(self.prepare(data, settings, timings, kind), temporal))

    # -- compose --------------------------------------------------------------------------------

    def render(self, m: Matte, out: Output) -> np.ndarray:
        """The compose stage: the mask, the cut-out, or the cut-out over a background.

        Parameters
        ----------
        m
            The photo's Matte.
        out
            What to make (Output). A cut-out for a format without alpha is composed onto
            `settings.FLATTEN_COLOUR` (white).

        Returns
        -------
        np.ndarray
            HxW uint8 mask, HxWx3 composite or HxWx4 cut-out.
        """
        from edgematte.kernels import use_threads

        self._open_stages()
        use_threads(self.threads)
        with m.timings.stage("compose"):
            if out.mask_only:
                return m.alpha
            background = out.background
            if background is None and out.format is not None and not has_alpha(out.format):
                background = Backdrop(colour=FLATTEN_COLOUR)
            if background is not None:
                # Views into the cut-out: a contiguous copy of a 12 MP RGB costs more than the blend.
                return background.over(m.rgba[..., :3], m.rgba[..., 3])
            return m.rgba

    # -- encode ---------------------------------------------------------------------------------

    def encode(self, pixels: np.ndarray, out: Output, timings: Timings | None = None) -> bytes:
        """The encode stage (encode.py) with this session's threads for the PNG writer.

        Parameters
        ----------
        pixels
            What `render` produced.
        out
            Its format and quality (Output.format must not be None).
        timings
            Where to record the 'encode' stage. Default None: not recorded.
        """
        from edgematte.encode import encode

        if out.format is None:
            raise OptionError("no output format given to encode")
        t = timings if timings is not None else Timings()
        with t.stage("encode"):
            return encode(pixels, out.format, quality=out.quality, threads=self.threads)

    # -- all of it ------------------------------------------------------------------------------

    def process(self, data: Any, out: Output) -> Result:
        """Every stage in order: decode, matte, render, encode (skipped when out.format is None)."""
        m = self.matte(data)
        pixels = self.render(m, out)
        blob = self.encode(pixels, out, m.timings) if out.format is not None else None
        return Result(m, pixels, blob)

    def remove(
        self,
        data: Any,
        *,
        mask_only: bool = False,
        bg: Background = None,
        output: str | os.PathLike | None = None,
        format: str | None = None,
        quality: int | None = None,
    ) -> Any:
        """Cut out `data` and hand back the kind it came as; see `edgematte.remove` for the parameters."""
        from PIL import Image

        as_pixels = output is None and isinstance(data, Image.Image | np.ndarray)
        if as_pixels:
            fmt = None
        elif output is not None:
            fmt = writable_format(format) if format else format_for_path(output)
        else:
            fmt = format or "PNG"
        result = self.process(data, Output.of(mask_only=mask_only, bg=bg, format=fmt, quality=quality))
        if result.data is None:
            if isinstance(data, Image.Image):
                from edgematte.encode import pixel_kind

                return Image.fromarray(result.pixels, pixel_kind(result.pixels))
            return result.pixels
        if output is not None:
            from edgematte.files import write_atomic

            protect = [data] if isinstance(data, str | os.PathLike) else []
            return write_atomic(Path(output), result.data, protect=protect)
        return result.data
