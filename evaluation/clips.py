"""Test clips with exact ground truth per frame, made from ../shared/eval (no video ships there).

- `lemur_clip`: the lemur of lemur_cc0 (exact alpha; I_black = a F, so a F + (1 - a) B is
  exact over any scene) over a real photo as the scene: still, moving right, still, still under
  a lighting change (the whole frame's gain falls 15%), still again; Gaussian sensor noise
  (sigma 3 levels) on every frame. A salient object, not a person: u2netp's clip.
- `person_clip`: a real person photo of grabcut50 in a 1280x720 frame: still, a step (the
  person jumps 40 px, as a fast move between two frames), still, a slow zoom of 6%, still; the
  same noise. Its ground truth is grabcut's (0 / 255, with 128 for the unknown band, which the
  metrics leave out). The person model's clip.

Every clip is a list of `ClipFrame`; `segments` names the still and moving stretches, which
is what the flicker and lag metrics read (evaluation/temporal.py); a still stretch starts 10
frames after the last motion, so flicker is measured on a matte that had time to settle (how
fast it settles is the lag).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation import sets

NOISE_SIGMA = 3.0
FRAME = (1280, 720)


@dataclass
class ClipFrame:
    """One frame and its truth."""

    rgb: np.ndarray  # HxWx3 uint8
    alpha: np.ndarray  # HxW uint8 ground truth (128 = unknown, person clip only)


@dataclass
class Clip:
    """Frames, their timestamps and what happens when."""

    name: str
    frames: list[ClipFrame]
    rate: float
    segments: dict[str, tuple[int, int]]  # name -> [first, last) frame; names start 'still' or 'move'
    steps: list[int]  # frames at which the subject jumped (lag is measured from them)

    def timestamps_ms(self) -> list[float]:
        return [i * 1000.0 / self.rate for i in range(len(self.frames))]


def _read(path, mode: str = "RGB") -> np.ndarray:  # type: ignore[no-untyped-def]
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert(mode))


def _noisy(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0.0, NOISE_SIGMA, img.shape).astype(np.float32)
    return np.clip(img.astype(np.float32) + noise, 0, 255).round().astype(np.uint8)


def _scene(name: str) -> np.ndarray:
    import cv2

    s = next(x for x in sets.samples("grabcut50") if x.name == name)
    img = _read(s.image)
    h, w = img.shape[:2]
    W, H = FRAME
    scale = max(W / w, H / h)
    big = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
    y0, x0 = (big.shape[0] - H) // 2, (big.shape[1] - W) // 2
    return np.ascontiguousarray(big[y0 : y0 + H, x0 : x0 + W])


def lemur_clip(seed: int = 0) -> Clip:
    """60 frames at 30 fps, 1280x720, exact alpha per frame (see the module notes)."""
    root = sets.eval_root() / "lemur_cc0"
    a_f = _read(root / "images" / "lemur_synth_black.png").astype(np.float32)  # a F (B = black)
    a = _read(root / "gt" / "lemur_synth_black.png", "L").astype(np.float32) / 255.0
    scene = _scene("stone2").astype(np.float32)
    rng = np.random.default_rng(seed)
    H, W = FRAME[1], FRAME[0]
    lh, lw = a.shape
    y0 = H - lh - 40
    frames = []
    for i in range(60):
        x = 80 + 6 * min(max(i - 15, 0), 15)  # still 0-14, moving 15-29 (6 px a frame), still after
        gain = 1.0 - 0.15 * min(max(i - 40, 0), 10) / 10  # lighting falls 15% over frames 40-50
        img = scene.copy()
        alpha = np.zeros((H, W), np.float32)
        region = img[y0 : y0 + lh, x : x + lw]
        img[y0 : y0 + lh, x : x + lw] = a_f + (1.0 - a[..., None]) * region
        alpha[y0 : y0 + lh, x : x + lw] = a
        frames.append(ClipFrame(_noisy(np.clip(img * gain, 0, 255), rng), (alpha * 255).round().astype(np.uint8)))
    return Clip(
        "lemur",
        frames,
        30.0,
        {"still_a": (1, 15), "move": (15, 30), "still_light": (40, 51), "still_b": (51, 60)},
        [],
    )


def person_clip(name: str = "person1", seed: int = 1) -> Clip:
    """75 frames at 30 fps, 1280x720: a grabcut50 person with a step and a zoom (module notes)."""
    import cv2

    s = next(x for x in sets.samples("grabcut50") if x.name == name)
    img, gt = _read(s.image), _read(s.gt, "L")
    h, w = img.shape[:2]
    W, H = FRAME
    base = 0.9 * H / h  # the person 90% of the frame's height, on a blurred copy of their photo
    bg = cv2.GaussianBlur(cv2.resize(img, (W, H)), (0, 0), 25)
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(75):
        dx = 40 if i >= 15 else 0  # the step: between frames 14 and 15
        zoom = 1.0 + 0.06 * min(max(i - 35, 0), 15) / 15  # zoom 35-50
        scale = base * zoom
        cx, cy = W / 2 - 120 + dx, H / 2
        m = np.array([[scale, 0, cx - scale * w / 2], [0, scale, cy - scale * h / 2]], np.float32)
        fg = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (W, H), flags=cv2.INTER_LINEAR)
        g = cv2.warpAffine(gt, m, (W, H), flags=cv2.INTER_NEAREST)
        k = inside.astype(np.float32)[..., None] / 255.0
        frame = fg * k + bg * (1 - k)  # the photo pasted over the blurred backdrop
        frames.append(ClipFrame(_noisy(frame, rng), g))
    return Clip(
        name,
        frames,
        30.0,
        {"still_a": (1, 15), "move_step": (15, 25), "still_b": (25, 35), "move_zoom": (35, 61), "still_c": (61, 75)},
        [15],
    )


def write_clip(path, frames: list[np.ndarray], rate: int = 30, rotation: int = 0, audio: bool = False):  # type: ignore[no-untyped-def]
    """Frames (HxWx3 RGB) as an H.264 file with PyAV (CRF 16), optionally with a display rotation
    and a 440 Hz mono AAC track as long as the video: test and bench material."""
    import av

    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        v.options = {"crf": "16", "preset": "veryfast"}
        if rotation:
            v.set_display_rotation(rotation)
        a = c.add_stream("aac", rate=44100) if audio else None
        if a is not None:
            a.layout = "mono"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            for p in v.encode(vf):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        if a is not None:
            t, total = 0, int(44100 * len(frames) / rate)
            while t < total:
                s = (0.2 * np.sin(2 * np.pi * 440 * (t + np.arange(1024)) / 44100)).astype(np.float32)[None]
                af = av.AudioFrame.from_ndarray(s, format="fltp", layout="mono")
                af.sample_rate, af.pts = 44100, t
                t += 1024
                for p in a.encode(af):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return path
