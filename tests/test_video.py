"""Live preview on the real selfie model: frames in, composited frames out, matte stable over time."""

from __future__ import annotations

import numpy as np
import pytest

from edgematte.settings import LiveSettings
from edgematte.video import Preview
from evaluation import sets as evalsets


@pytest.fixture(scope="module")
def person_frames():
    import cv2

    if not evalsets.available():
        pytest.skip("eval images absent")
    s = next(x for x in evalsets.samples("grabcut50") if x.name == "person1")
    rgb = cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB)
    big = cv2.resize(rgb, (1280, 720))
    return [np.ascontiguousarray(np.roll(big, 6 * i, axis=1)) for i in range(4)], s


def test_preview_replaces_the_background(person_frames):
    import cv2

    frames, sample = person_frames
    p = Preview(background=(0, 177, 64))
    out = p.process(frames[0])
    assert out.shape == frames[0].shape and out.dtype == np.uint8
    gt = cv2.resize(cv2.imread(str(sample.gt), cv2.IMREAD_GRAYSCALE), (1280, 720), interpolation=cv2.INTER_NEAREST)
    green = np.all(out == (0, 177, 64), axis=-1)
    assert green[gt == 0].mean() > 0.8  # most of the background replaced
    assert green[gt == 255].mean() < 0.2  # the person kept
    assert {"invoke", "refine", "compose"} <= set(p.last_timings.stages)


def test_temporal_smoothing_and_reset(person_frames):
    frames, _ = person_frames
    p = Preview(background="white", settings=LiveSettings(smoothing=0.5))
    a1 = p.alpha(frames[0])
    a2 = p.alpha(frames[0])
    assert np.abs(a1.astype(int) - a2.astype(int)).mean() < 2  # converges on a still scene
    p.reset()
    assert p._state is None


def test_scene_background(person_frames, sample_jpg):
    frames, _ = person_frames
    p = Preview(background=str(sample_jpg))
    out = p.process(frames[1])
    assert out.shape == (720, 1280, 3) and p.card.name.startswith("selfie-landscape")
    assert {"prepare", "invoke", "refine", "compose"} <= set(p.last_timings.stages)  # budgets live in bench/
