"""Frames through the running modes on the real models: image, video, live stream; the temporal stage."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from edgematte import FrameMatter, MatterOptions, OptionError, SessionClosedError, TemporalSettings
from edgematte.kernels.temporal import stable_alpha_cells, stable_alpha_reference
from edgematte.live.temporal import Stabiliser, luma, motion
from evaluation import sets as evalsets
from evaluation import temporal as tm
from evaluation.clips import person_clip


@pytest.fixture(scope="module")
def person():
    if not evalsets.available():
        pytest.skip("eval images absent")
    s = next(x for x in evalsets.samples("grabcut50") if x.name == "person1")
    rgb = cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB)
    big = cv2.resize(rgb, (1280, 720))
    gt = cv2.resize(cv2.imread(str(s.gt), cv2.IMREAD_GRAYSCALE), (1280, 720), interpolation=cv2.INTER_NEAREST)
    frames = [np.ascontiguousarray(np.roll(big, 6 * i, axis=1)) for i in range(8)]
    return frames, gt


@pytest.mark.needs_eval
def test_composite_replaces_the_background(person):
    frames, gt = person
    with FrameMatter.for_images(background=(0, 177, 64)) as m:
        r = m.matte(frames[0])
    out = r.pixels
    assert out.shape == frames[0].shape and out.dtype == np.uint8 and r.model.startswith("selfie-landscape")
    green = np.all(out == (0, 177, 64), axis=-1)
    assert green[gt == 0].mean() > 0.8 and green[gt == 255].mean() < 0.2
    assert {"prepare", "invoke", "refine", "compose"} <= set(r.timings.stages)


@pytest.mark.needs_eval
def test_video_mode_is_deterministic_and_stream_equals_frame_by_frame(person):
    frames, _ = person
    ts = [i * 33.3 for i in range(len(frames))]
    runs = []
    for output in ("composite", "alpha"):
        with FrameMatter.for_video(output=output, background="white") as m:
            one = [m.matte_for_video(f, t).pixels for f, t in zip(frames, ts, strict=True)]
            m.reset()
            piped = [r.pixels for r in m.stream(zip(ts, frames, strict=True))]
        assert all(np.array_equal(a, b) for a, b in zip(one, piped, strict=True))
        runs.append(one)
    with FrameMatter.for_video(output="alpha", background="white") as m:  # a second run, a new matter
        again = [m.matte_for_video(f, t).pixels for f, t in zip(frames, ts, strict=True)]
    assert all(np.array_equal(a, b) for a, b in zip(runs[1], again, strict=True))
    with FrameMatter.for_video(output="rgba") as m:
        rgba = m.matte_for_video(frames[0], 0).pixels
    assert rgba.shape == (720, 1280, 4) and np.array_equal(rgba[..., :3], frames[0])


@pytest.mark.needs_eval
def test_image_mode_has_no_temporal_state(person):
    frames, _ = person
    with FrameMatter.for_images(output="alpha") as m:
        a = m.matte(frames[3]).pixels
        m.matte(frames[0])
        b = m.matte(frames[3]).pixels
    assert np.array_equal(a, b)


def test_mode_rules_and_clear_errors():
    frame = np.zeros((64, 96, 3), np.uint8)
    with FrameMatter.for_video(output="alpha") as m:
        m.matte_for_video(frame, 10)
        with pytest.raises(OptionError, match="not after the previous"):
            m.matte_for_video(frame, 10)
        with pytest.raises(OptionError, match="for image mode"):
            m.matte(frame)
        with pytest.raises(OptionError, match="HxWx3 uint8"):
            m.matte_for_video(np.zeros((64, 96), np.uint8), 20)
        m.reset()
        m.matte_for_video(frame, 0)  # a reset restarts the clock
    with pytest.raises(SessionClosedError):
        m.matte_for_video(frame, 50)
    with pytest.raises(OptionError, match="result_callback"):
        MatterOptions(running_mode="live_stream")
    with pytest.raises(OptionError, match="running mode"):
        MatterOptions(running_mode="sometimes")
    with pytest.raises(OptionError, match="output"):
        MatterOptions(output="jpeg")


@pytest.mark.needs_eval
def test_live_stream_newest_frame_wins_and_nothing_queues(person):
    frames, _ = person
    got: list[float] = []
    threads: set[str] = set()

    def on_result(result, frame) -> None:
        got.append(result.timestamp_ms)
        threads.add(threading.current_thread().name)
        assert result.pixels.shape == (720, 1280, 3) and frame.shape == (720, 1280, 3)

    m = FrameMatter.for_live_stream(on_result, background="white")
    t = time.perf_counter()
    for i in range(60):  # a camera far faster than the matting
        m.matte_async(frames[i % len(frames)], float(i))
    pushed_ms = (time.perf_counter() - t) * 1000
    assert m.wait_idle(30)
    m.close()
    assert pushed_ms < 60 * 20  # matte_async returns at once (no frame is matted on the camera thread)
    assert m.processed + m.dropped == 60 and m.dropped > 0
    assert got == sorted(got) and got[-1] == 59.0  # in order, and the newest frame was matted
    assert threads == {"edgematte-live"}


def test_stabiliser_motion_ignores_lighting_and_drops_state_on_a_cut():
    rng = np.random.default_rng(0)
    img = rng.integers(40, 200, (36, 64, 3)).astype(np.uint8)
    lum = luma(img)
    brighter = luma(np.clip(img.astype(int) + 20, 0, 255).astype(np.uint8))
    moved, mean = motion(brighter, lum)
    assert moved.max() <= 1.0 and mean <= 1.0  # a lighting change is not motion
    shifted = luma(np.roll(img, 3, axis=1))
    moved, _ = motion(shifted, lum)
    assert moved.mean() > 20  # a textured picture moving is
    s = Stabiliser(TemporalSettings())
    m0 = np.full((36, 64), 0.5, np.float32)
    s(img, m0)
    out = s(img, np.full((36, 64), 0.9, np.float32))  # still and unsure: mixed with the previous
    assert np.allclose(out, 0.5 + 0.4 * (1 - (0.85 * (1 - 0.8**2) + 0.4 * 0.8**2))) and s.stillness.min() == 1
    cut = rng.integers(0, 256, (36, 64, 3)).astype(np.uint8)
    out = s(cut, np.full((36, 64), 0.2, np.float32))
    assert np.allclose(out, 0.2) and s.stillness is None  # a scene cut: nothing carried over
    s(cut, m0, timestamp_ms=0)
    out = s(cut, np.full((36, 64), 0.9, np.float32), timestamp_ms=5000)  # a gap of 5 s: a new scene
    assert np.allclose(out, 0.9)


def test_stable_alpha_kernel_matches_reference():
    rng = np.random.default_rng(3)
    H, W, h, w = 90, 160, 18, 32
    frame = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    bg = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    coef = (rng.standard_normal((h, w, 4)) * 0.5).astype(np.float32)
    state = rng.choice(np.array([0, 1, 255], np.uint8), (h, w))
    still = rng.random((h, w)).astype(np.float32)
    prev = rng.integers(0, 256, (H, W)).astype(np.uint8)
    want_a, want_c = stable_alpha_reference(frame, coef, state, still, 0.6, prev, bg)
    got_a, out = prev.copy(), np.empty_like(frame)
    stable_alpha_cells(frame, coef, state, still, 0.6, got_a, bg, True, out)
    assert np.abs(got_a.astype(int) - want_a).max() <= 1 and (got_a != want_a).mean() < 0.001
    assert np.abs(out.astype(int) - want_c).max() <= 1
    alone = prev.copy()
    stable_alpha_cells(frame, coef, state, still, 0.6, alone, bg[:1, :1], False, out[:1, :1])
    assert np.array_equal(alone, got_a)


@pytest.mark.needs_eval
def test_adaptive_stage_cuts_flicker_without_lag():
    """On a real person with sensor noise (evaluation/clips.py): flicker on the still stretches
    and lag after a 40 px step, for no temporal stage, the moving average and ours."""
    clip = person_clip()
    scores = {}
    for method in ("none", "ema", "adaptive"):
        with FrameMatter.for_video(output="alpha", temporal=TemporalSettings(method=method)) as m:
            alphas = [
                m.matte_for_video(f.rgb, t).pixels for f, t in zip(clip.frames, clip.timestamps_ms(), strict=True)
            ]
        scores[method] = (np.mean(tm.errors(clip, alphas)), tm.flicker(clip, alphas)["edge_band"], tm.lag(clip, alphas))
    none, ema, ours = scores["none"], scores["ema"], scores["adaptive"]
    assert ours[1] < 0.5 * none[1]  # measured 0.99 vs 2.9 levels along the outline
    assert ours[2] == [0] and none[2] == [0] and ema[2][0] >= 3  # the average lags, ours does not
    assert ours[0] < none[0] + 0.001  # no accuracy given up


def test_live_stream_worker_failure_is_raised_not_swallowed():
    def broken(result, frame) -> None:
        raise RuntimeError("the display went away")

    frame = np.zeros((64, 96, 3), np.uint8)
    m = FrameMatter.for_live_stream(broken, output="alpha")
    m.matte_async(frame, 0.0)
    with pytest.raises(RuntimeError, match="display went away"):
        m.wait_idle(30)
    with pytest.raises(RuntimeError, match="display went away"):
        m.matte_async(frame, 1.0)
    m.close()
