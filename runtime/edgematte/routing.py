"""`--model auto`: is the photo a portrait (the matting model) or anything else (u2netp)?

A face says "portrait". MediaPipe's short-range face detector (BlazeFace, 128x128, ~1-5 ms an
invoke, models/face-short-range-fp16) is made for faces that fill a good part of its input, so
it looks at the whole photo (letterboxed) and then at overlapping squares the size of the
photo's short side (about 3 looks for a 4:3 photo), stopping at the first face. A photo is a
portrait when a face scores at least `FACE_SCORE` in one of those looks. A portrait then goes
through both models (Session.infer) and the matting model's matte is kept only when it cuts out
the subject u2netp found (`same_subject`): a face in a product photo (a model holding a phone)
must not turn the cut-out into the person, and MODNet sometimes drops part of a person (one
JPEG re-encode of grabcut50's person1 took its IoU against u2netp from 0.98 to 0.83).

A face the detector is unsure of (`FACE_UNSURE` up to `FACE_SCORE`: a face turned away, a
doll's, an animal's) is a portrait only when two more things say so, since MODNet is worth
running only for a subject with hair or fur: MediaPipe's selfie segmenter (~2 ms) must cut out
the subject u2netp found (`same_subject` of its map and u2netp's), and MODNet's matte must then
have a soft edge all round (`soft_edge_width` at least `SOFT_EDGE_PX`: fur, or hair framing
the face). Measured (bench.quality_report's rows): lemur_cc0's ten photos (faces at 0.72-0.76,
fur 4.7-7.2 px) then go to MODNet (IoU 0.966 -> 0.987, edge-band error halved), while the
unsure faces with hard outlines stay with u2netp: an elephant statue (3.5 px), a suitcase (2.9),
a man's head (1.1-1.3). A confident face needs neither check: a person's matte goes to MODNet
even where only the hair is soft (a long-haired portrait's average is 2-4 px, its body outline
being hard).

Why only big faces: MODNet is a portrait matting model (Ke et al., "MODNet: Real-Time
Trimap-Free Portrait Matting via Objective Decomposition", AAAI 2022). Where the person is
small in the frame (full-body photos), u2netp measured as good or better: on grabcut50's eight
people MODNet's IoU was at most 0.2 points higher and up to 28 points lower (person5), and its
edge band (against binary ground truth) worse on every one. Looking at
half-size squares as well found 2 more of 11 labelled people but only small faces, and cost
16 ms instead of 3 ms a photo. The threshold is high on purpose: sending a product to the
matting model costs more quality than sending a person to u2netp (which cuts people out well,
only with harder hair), so the rule prefers "product" when unsure. Measured on labelled eval
photos by `python -m bench.routing`; the cut-outs of auto against each model alone by
`python -m bench.quality_report`.
"""

from __future__ import annotations

import numpy as np

PERSON, PRODUCT = "person", "product"  # the kinds of subject (remove.bg's type)
FACE_SCORE = 0.9  # best anchor's probability; MediaPipe's default is 0.5 (it tracks faces; we route photos)
# A face scoring at least this (below FACE_SCORE) is a portrait only when the selfie segmenter and
# MODNet's soft edge agree (module notes). lemur_cc0's faces score 0.72-0.76; grabcut50's unsure
# faces (0.58-0.86) are filtered by those two checks, not by this threshold.
FACE_UNSURE = 0.6
# A matte soft all round (fur): its soft band (0.1 < alpha < 0.9) is on average this many pixels
# wide at the matting model's resolution (512 x 384), measured as soft pixels per pixel of outline.
# Measured on the unsure faces: lemur_cc0 4.7-7.2; hard outlines 1.1-3.5.
SOFT_EDGE_PX = 4.0
# The tiers of `PersonDetector.tier`: a confident face, a face it is unsure of, no face.
PORTRAIT, UNSURE, NO_FACE = "portrait", "unsure", "no face"
LOOK_SIDE = 512  # px: the photo is scaled to this long side first; the smallest look is then >= 128 px
SQUARES = (1.0,)  # square looks, as fractions of the photo's short side (module notes: why not 0.5)
# A portrait's matting-model matte is kept when it and u2netp's map agree at least this well (IoU
# of map > 0.5): the same subject. Measured (bench.quality_report's rows): on grabcut50's portraits
# the two agreed at 0.91-0.997; on COCO photos with a face where the labelled subject is a phone,
# a hair drier or a skateboard (MODNet cuts out the person instead) they agreed at 0.34-0.50.
SAME_SUBJECT = 0.85
COMPARE_SIDE = 128  # px: both maps are compared at this square size (each covers the whole photo)


def same_subject(segmentation: np.ndarray, matting: np.ndarray, threshold: float = SAME_SUBJECT) -> bool:
    """Whether the matting model cut out the subject u2netp found (so its matte may replace the map).

    Parameters
    ----------
    segmentation
        u2netp's map (float 0..1) over the whole photo, at any resolution (a stretched square or
        the working size after a second look).
    matting
        The matting model's alpha (float 0..1) over the whole photo, at its own resolution.
    threshold
        The least IoU of map > 0.5 that counts as the same subject. Default SAME_SUBJECT (0.85,
        see its note).

    Two empty maps agree.
    """
    import cv2

    a, b = (
        cv2.resize(np.asarray(m, np.float32), (COMPARE_SIDE, COMPARE_SIDE), interpolation=cv2.INTER_AREA) > 0.5
        for m in (segmentation, matting)
    )
    union = np.count_nonzero(a | b)
    return union == 0 or np.count_nonzero(a & b) / union >= threshold


def soft_edge_width(alpha: np.ndarray) -> float:
    """How wide the matte's soft band is on average, in pixels of its own resolution.

    Soft pixels (0.1 < alpha < 0.9) per pixel of outline (alpha > 0.5 pixels with a neighbour at
    or below it): about 1-3 for a hard outline upsampled to the model's resolution, more for hair
    and fur. A matte with no subject has width 0.

    Parameters
    ----------
    alpha
        A matte (float 0..1, HxW), e.g. MODNet's at its own resolution.
    """
    import cv2

    fg = (np.asarray(alpha) > 0.5).astype(np.uint8)
    outline = np.count_nonzero(fg - cv2.erode(fg, np.ones((3, 3), np.uint8)))
    if outline == 0:
        return 0.0
    soft = np.count_nonzero((alpha > 0.1) & (alpha < 0.9))
    return soft / outline


class PersonDetector:
    """The face detector, loaded once, answering `is_person(rgb)` (thread-safe: the engine locks).

    Parameters
    ----------
    threads
        Interpreter threads. Default 1: one invoke at 128x128 is a few ms.
    """

    def __init__(self, threads: int = 1, profile: str | None = None):
        from edgematte.engine import Engine
        from edgematte.models import resolve, verified_path

        self.card = resolve("face-short-range")
        self._engine = Engine(verified_path(self.card), threads)
        self._threads = threads
        self._profile = profile
        self._segmenter: Engine | None = None  # the selfie segmenter, loaded for the first unsure face
        self._segmenter_card = None

    def face_score(self, rgb: np.ndarray) -> float:
        """The best face probability in the photo (0..1).

        Parameters
        ----------
        rgb
            HxWx3 uint8 photo of any size (letterboxed to the detector's 128x128, black bars).
        """
        from edgematte.infer import working_image

        mh, mw = self.card.input_hw
        small = working_image(rgb, None, max(mh, mw))
        h, w = small.shape[:2]
        x = np.zeros((mh, mw, 3), np.float32)
        top, left = (mh - h) // 2, (mw - w) // 2
        x[top : top + h, left : left + w] = small
        out = self._engine.run_tensors((x / np.float32(127.5) - np.float32(1.0))[None])
        logits = out["classificators"].reshape(-1)
        return float(1.0 / (1.0 + np.exp(-np.clip(logits.max(), -80.0, 80.0))))

    def looks(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The views the detector is shown: the whole photo, then overlapping squares (module notes).

        Parameters
        ----------
        rgb
            HxWx3 uint8 photo.
        """
        from edgematte.infer import working_image

        rgb = working_image(rgb, None, LOOK_SIDE)  # once: every look is cut from this
        h, w = rgb.shape[:2]
        views = [rgb]
        for frac in SQUARES:
            side = max(1, int(min(h, w) * frac))
            ys = np.linspace(0, h - side, max(1, round((h - side) / (side / 2)) + 1)).astype(int)
            xs = np.linspace(0, w - side, max(1, round((w - side) / (side / 2)) + 1)).astype(int)
            views += [rgb[y : y + side, x : x + side] for y in ys for x in xs]
        return views

    def best_face(self, rgb: np.ndarray, stop_at: float = FACE_SCORE) -> float:
        """The best face score over every look, stopping early once one reaches `stop_at`.

        Parameters
        ----------
        rgb
            HxWx3 uint8 photo.
        stop_at
            Stop at the first look scoring this. Default FACE_SCORE; 1.0 looks at every view.
        """
        best = 0.0
        for view in self.looks(rgb):
            best = max(best, self.face_score(view))
            if best >= stop_at:
                break
        return best

    def tier(self, rgb: np.ndarray) -> str:
        """PORTRAIT (a face at FACE_SCORE or more), UNSURE (at FACE_UNSURE or more) or NO_FACE.

        Parameters
        ----------
        rgb
            HxWx3 uint8 photo.
        """
        score = self.best_face(rgb)
        return PORTRAIT if score >= FACE_SCORE else UNSURE if score >= FACE_UNSURE else NO_FACE

    def segmenter_agrees(self, work_rgb: np.ndarray, segmentation: np.ndarray) -> bool:
        """Whether the selfie segmenter cuts out the subject u2netp found (`same_subject`).

        Parameters
        ----------
        work_rgb
            hxwx3 uint8, the working image (stretched to the segmenter's input, as it was trained).
        segmentation
            u2netp's map over the whole photo (float 0..1, any resolution).
        """
        from edgematte.engine import Engine
        from edgematte.infer import prepare_input
        from edgematte.models import resolve, verified_path

        if self._segmenter is None:
            self._segmenter_card = resolve("selfie", self._profile)
            self._segmenter = Engine(verified_path(self._segmenter_card), self._threads)
        card = self._segmenter_card
        x, _ = prepare_input(work_rgb, card.input_hw, card.resize)
        return same_subject(segmentation, self._segmenter.run(x))

    def is_person(self, rgb: np.ndarray) -> bool:
        """True when some look at the photo shows a face scoring at least FACE_SCORE."""
        return self.best_face(rgb) >= FACE_SCORE

    def kind(self, rgb: np.ndarray) -> str:
        """'person' (a portrait: the matting model) or 'product' (anything else: u2netp).

        Parameters
        ----------
        rgb
            HxWx3 uint8 photo.
        """
        return PERSON if self.is_person(rgb) else PRODUCT
