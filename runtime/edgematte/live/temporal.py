"""The temporal stage of frames: the model's map of this frame against the previous output.

A segmentation model looks at every frame afresh, so a still person's outline wavers by a few
levels from frame to frame (sensor noise is enough), and a preview flickers. Averaging maps over
time removes the flicker but makes a moving arm leave a ghost. The adaptive stage mixes the
previous output in only where both hold:

- the new map is unsure there: weight grows with u = 1 - (2p - 1)^2 (1 at p = 0.5, 0 at 0 or 1),
  the idea of MediaPipe's segmentation smoothing (mix with the previous mask in proportion to
  the new one's uncertainty);
- the picture did not move there: the frame's luma at the map's resolution, each frame's mean
  removed (a lighting change moves every pixel by the same amount and is not motion), against
  the previous frame's, as a max over 3x3 neighbours; still below `still_level`, moving above
  `moving_level`, linear between.

    w   = stillness * (sure_weight + (unsure_weight - sure_weight) * u)
    out = map + w * (previous_out - map)

All of it works on the model's map and input (~37k pixels for the preview model): well under a
millisecond. Deterministic: the same frames give the same outputs on every run.
"""

from __future__ import annotations

import numpy as np

from edgematte.settings import TemporalSettings


def luma(rgb: np.ndarray) -> np.ndarray:
    """Integer BT.601 luma of an hxwx3 uint8 image: (77 R + 150 G + 29 B + 128) >> 8, as uint8."""
    x = rgb.astype(np.uint16)
    return ((x[..., 0] * 77 + x[..., 1] * 150 + x[..., 2] * 29 + 128) >> 8).astype(np.uint8)


def motion(lum: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-pixel motion between two luma maps (levels), and the mean frame difference.

    Parameters
    ----------
    lum, previous
        hxw uint8 luma of this frame and of the previous one, at the map's resolution.

    Returns
    -------
    (motion, mean_difference)
        motion: hxw float32, |(L - mean L) - (P - mean P)| as a max over each pixel's 3x3
        neighbourhood (edges replicated), so the pixels next to a moving edge count as moving.
        mean_difference: the mean of that difference before the max (scene-cut test).
    """
    n = lum.size
    mean_now = np.float32(int(lum.sum(dtype=np.int64)) / n)
    mean_before = np.float32(int(previous.sum(dtype=np.int64)) / n)
    d = np.abs((lum.astype(np.float32) - mean_now) - (previous.astype(np.float32) - mean_before))
    p = np.pad(d, 1, mode="edge")
    h, w = d.shape
    m = d.copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(m, p[dy : dy + h, dx : dx + w], out=m)
    return m, float(d.mean())


def stillness(moved: np.ndarray, s: TemporalSettings) -> np.ndarray:
    """1 where a pixel did not move, 0 where it moved, linear between (hxw float32).

    Parameters
    ----------
    moved
        `motion(...)`'s per-pixel motion in luma levels.
    s
        The still and moving levels (TemporalSettings).
    """
    span = np.float32(s.moving_level - s.still_level)
    return np.clip((np.float32(s.moving_level) - moved) / span, np.float32(0.0), np.float32(1.0))


def mixing_weight(model_map: np.ndarray, still: np.ndarray, s: TemporalSettings) -> np.ndarray:
    """The adaptive stage's weight of the previous output, per pixel (hxw float32 in 0..1).

    Parameters
    ----------
    model_map
        This frame's map (float32 0..1).
    still
        `stillness(...)` of this frame.
    s
        The weights (TemporalSettings).
    """
    c = np.float32(2.0) * model_map - np.float32(1.0)
    unsure = np.float32(1.0) - c * c
    sure_w = np.float32(s.sure_weight)
    return still * (sure_w + (np.float32(s.unsure_weight) - sure_w) * unsure)


class Stabiliser:
    """The temporal state of one stream of frames (one per camera or video; not thread-safe).

    Parameters
    ----------
    settings
        Method and numbers (TemporalSettings). Default: adaptive mixing.
    """

    def __init__(self, settings: TemporalSettings | None = None):
        self.settings = settings or TemporalSettings()
        self._out: np.ndarray | None = None
        self._luma: np.ndarray | None = None
        self._last_ms: float | None = None
        # Set by every call: where the picture is still (map resolution, 0..1), or None when
        # there is nothing to mix with (first frame, scene cut, 'ema' / 'none').
        self.stillness: np.ndarray | None = None
        # The previous frame's full-resolution alpha (kernels/temporal.py keeps it up to date).
        self.alpha: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous frames (a scene cut, a camera switch, a seek)."""
        self._out = self._luma = self._last_ms = None
        self.stillness = self.alpha = None

    def __call__(self, model_input: np.ndarray, model_map: np.ndarray, timestamp_ms: float | None = None) -> np.ndarray:
        """This frame's map after the temporal stage.

        Parameters
        ----------
        model_input
            hxwx3 uint8: what the model saw (infer.Prediction.input), at the map's resolution.
        model_map
            hxw float32 0..1: the model's map of it.
        timestamp_ms
            The frame's time. A gap longer than `reset_gap_ms` drops the state. Default None: no
            gap test (live frames, raw streams).
        """
        s = self.settings
        y = np.ascontiguousarray(model_map, np.float32)
        if timestamp_ms is not None:
            if self._last_ms is not None and timestamp_ms - self._last_ms > s.reset_gap_ms:
                self.reset()
            self._last_ms = timestamp_ms
        self.stillness = None
        if s.method == "none":
            return y
        prev = self._out if self._out is not None and self._out.shape == y.shape else None
        if s.method == "ema":
            if prev is not None and s.ema_weight > 0:
                y = np.float32(s.ema_weight) * prev + np.float32(1.0 - s.ema_weight) * y
            self._out = y
            return y
        lum = luma(model_input)
        if prev is not None and self._luma is not None and self._luma.shape == lum.shape:
            moved, mean_difference = motion(lum, self._luma)
            if mean_difference <= s.cut_level:
                still = stillness(moved, s)
                y = y + mixing_weight(y, still, s) * (prev - y)
                self.stillness = still
        if self.stillness is None:
            self.alpha = None  # nothing still to carry over at full resolution either
        self._out, self._luma = y, lum
        return y
