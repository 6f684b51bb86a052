"""`edgematte video`, `stream` and `preview` run as a user runs them: real video files (PyAV),
a real ffmpeg pipe, the MJPEG endpoint read over loopback, a window on a real X server (Xvfb)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

av = pytest.importorskip("av", reason='needs the video extra: pip install -e ".[video]"')

from edgematte import FrameMatter  # noqa: E402
from edgematte.live.videofile import VideoReader, read_rgba  # noqa: E402
from evaluation import clips as clips_mod  # noqa: E402
from evaluation import sets as evalsets  # noqa: E402

W, H, N = 640, 360, 16
CLI = [sys.executable, "-m", "edgematte.cli"]


def _sigint_default() -> None:
    """In the child: Ctrl-C as a terminal delivers it. A CI job started in the background has
    SIGINT ignored, which children inherit, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, timeout=600, **kw)


def person_frames(n: int = N, w: int = W, h: int = H) -> list[np.ndarray]:
    import cv2

    s = next(x for x in evalsets.samples("grabcut50") if x.name == "person1")
    rgb = cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB)
    canvas = cv2.resize(cv2.GaussianBlur(rgb, (0, 0), 15), (w + 4 * n, h))
    person = cv2.resize(rgb, (round(rgb.shape[1] * h / rgb.shape[0]), h))
    x0 = (w - person.shape[1]) // 2
    canvas[:, x0 : x0 + person.shape[1]] = person
    return [np.ascontiguousarray(canvas[:, 4 * i : 4 * i + w]) for i in range(n)]


def write_clip(path: Path, frames: list[np.ndarray], rotation: int = 0, audio: bool = True, rate: int = 25) -> Path:
    return clips_mod.write_clip(path, frames, rate=rate, rotation=rotation, audio=audio)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    if not evalsets.available():
        pytest.skip("eval images absent")
    d = tmp_path_factory.mktemp("clips")
    frames = person_frames()
    return {
        "plain": write_clip(d / "person.mp4", frames),
        "rotated": write_clip(d / "rotated.mov", [np.ascontiguousarray(np.rot90(f, -1)) for f in frames], rotation=90),
        "silent": write_clip(d / "silent.mp4", frames, audio=False),
        "long": write_clip(d / "long.mp4", person_frames(120), audio=False),
        "dir": d,
    }


def expected_alpha(path: Path) -> list[np.ndarray]:
    """What video mode makes of the file's frames, decoded the same way (the reference)."""
    with VideoReader(path) as r, FrameMatter.for_video(output="alpha") as m:
        return [m.matte_for_video(f, ts).pixels for ts, _, f in r.frames()]


def streams(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        first = next(c.decode(v))
        return {
            "kinds": sorted(s.type for s in c.streams),
            "rate": v.average_rate,
            "frames": sum(1 for _ in c.decode(video=0)) + 1,
            "rotation": round(first.rotation or 0),
            "stored": (first.width, first.height),
        }


@pytest.mark.needs_eval
@pytest.mark.parametrize("ext", [".webm", ".mov"])
def test_alpha_video_round_trips(clips, tmp_path, ext):
    """Our own alpha output, decoded: the alpha survives (VP9: lossy, stated; MOV PNG: exact)."""
    out = tmp_path / f"cut{ext}"
    r = run("video", str(clips["rotated"]), "-o", str(out), "--quiet")
    assert r.returncode == 0, r.stderr.decode()
    want = expected_alpha(clips["rotated"])
    got = list(read_rgba(out))
    assert len(got) == len(want) == N and got[0].shape == (H, W, 4)  # upright, as the person was filmed
    diff = np.stack([np.abs(g[..., 3].astype(int) - w) for g, w in zip(got, want, strict=True)])
    if ext == ".mov":
        assert diff.max() == 0  # PNG frames: lossless
    else:
        assert diff.mean() < 0.4 and np.percentile(diff, 99.9) <= 10  # VP9's lossy alpha plane (measured 0.16 / 7)
    s = streams(out)
    assert s["kinds"] == ["audio", "video"] and s["rate"] == 25 and s["frames"] == N
    assert s["rotation"] == 90 and s["stored"] == (H, W)  # stored turned (360 wide) as the input, rotation kept


@pytest.mark.needs_eval
def test_composite_mask_and_video_background(clips, tmp_path):
    out = tmp_path / "green.mp4"
    r = run("video", str(clips["plain"]), "-o", str(out), "--bg", "#00b140", "--quiet")
    assert r.returncode == 0, r.stderr.decode()
    s = streams(out)
    assert s["kinds"] == ["audio", "video"] and s["frames"] == N and s["stored"] == (W, H)
    with VideoReader(out) as rd:
        frame = next(rd.frames())[2]
    alpha = expected_alpha(clips["plain"])[0]
    bg = frame[alpha == 0].astype(int)
    assert np.abs(bg - (0, 177, 64)).mean() < 6  # the background is the colour (H.264 4:2:0 aside)
    mask = tmp_path / "mask.webm"
    assert run("video", str(clips["silent"]), "-o", str(mask), "--mask", "--quiet").returncode == 0
    with VideoReader(mask) as rd:
        m0 = next(rd.frames())[2][..., 0]
    assert streams(mask)["kinds"] == ["video"]
    assert np.abs(m0.astype(int) - alpha).mean() < 3
    over = tmp_path / "over-video.mkv"
    r = run("video", str(clips["plain"]), "-o", str(over), "--bg", str(clips["silent"]), "--no-audio", "--quiet")
    assert r.returncode == 0, r.stderr.decode()
    assert streams(over)["kinds"] == ["video"] and streams(over)["frames"] == N


@pytest.mark.needs_eval
def test_progress_and_summary(clips, tmp_path):
    r = run("video", str(clips["plain"]), "-o", str(tmp_path / "o.webm"))
    assert r.returncode == 0
    line = r.stdout.decode().strip().splitlines()[-1]
    assert re.search(rf"{N} frames in [\d.]+ s \([\d.]+ fps\), model selfie-landscape-\w+, audio re-encoded", line)


@pytest.mark.needs_eval
def test_bad_inputs_get_one_line_and_their_exit_code(clips, tmp_path):
    cases = [
        (["video", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o.webm")], 2, "no such video"),
        (["video", str(clips["plain"]), "-o", str(tmp_path / "o.mp4")], 5, "cannot carry alpha"),
        (["video", str(clips["plain"]), "-o", str(tmp_path / "o.xyz"), "--bg", "red"], 5, "unknown video extension"),
        (["video", str(clips["plain"]), "-o", str(clips["plain"]), "--bg", "red"], 4, "already exists"),
        (["video", str(clips["plain"]), "-o", str(clips["plain"]), "--bg", "red", "--overwrite"], 4, "input"),
        (["video", str(clips["plain"]), "-o", str(tmp_path / "o.mp4"), "--bg", "red", "--mask"], 5, "exclude"),
        (["video", str(clips["plain"]), "-o", str(tmp_path / "o.webm"), "--smoothing", "magic"], 5, "temporal"),
        (["video", str(clips["plain"]), "-o", str(tmp_path / "o.mp4"), "--bg", str(tmp_path / "bg.mp4")], 5, "--bg"),
    ]
    (tmp_path / "notavideo.mp4").write_bytes(b"not a video at all")
    cases.append((["video", str(tmp_path / "notavideo.mp4"), "-o", str(tmp_path / "o.webm")], 2, "not a video"))
    for args, code, text in cases:
        r = run(*args)
        err = r.stderr.decode()
        assert r.returncode == code, (args, err)
        assert text in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@pytest.mark.needs_eval
def test_ctrl_c_leaves_no_half_written_output(clips, tmp_path):
    out = tmp_path / "long.webm"
    p = subprocess.Popen(
        [*CLI, "video", str(clips["long"]), "-o", str(out), "--model", "u2netp"],
        stderr=subprocess.PIPE,
        preexec_fn=_sigint_default,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not [x for x in tmp_path.iterdir() if x.name.endswith(".part")]:
        time.sleep(0.2)
    time.sleep(3)  # some frames written into the temporary file
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary file


@pytest.mark.needs_eval
def test_raw_stream_through_real_ffmpeg(clips, tmp_path):
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("Debian's ffmpeg is not installed (apt install ffmpeg)")
    src = clips["silent"]
    dec = [ffmpeg, "-v", "error", "-i", str(src), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(dec, capture_output=True, check=True).stdout
    r = run("stream", "--size", f"{W}x{H}", input=raw)
    assert r.returncode == 0, r.stderr.decode()
    assert len(r.stdout) == N * W * H * 4
    rgba = np.frombuffer(r.stdout, np.uint8).reshape(N, H, W, 4)
    frames = np.frombuffer(raw, np.uint8).reshape(N, H, W, 3)
    with FrameMatter.for_video(output="alpha") as m:
        want = [m.matte_for_video(np.ascontiguousarray(f), i * 1000 / 30).pixels for i, f in enumerate(frames)]
    assert np.array_equal(rgba[..., :3], frames)
    assert all(np.array_equal(rgba[i, ..., 3], want[i]) for i in range(N))  # the same as video mode
    # The whole pipe, as a user writes it: ffmpeg | edgematte stream | ffmpeg.
    out = tmp_path / "piped.webm"
    pipe = (
        f"{ffmpeg} -v error -i {src} -f rawvideo -pix_fmt rgb24 - | {' '.join(CLI)} stream --size {W}x{H} --bg white"
        f" | {ffmpeg} -v error -f rawvideo -pix_fmt rgb24 -s {W}x{H} -r 25 -i - -c:v libvpx-vp9 {out}"
    )
    assert subprocess.run(pipe, shell=True, capture_output=True, timeout=600).returncode == 0
    assert streams(out)["frames"] == N
    short = run("stream", "--size", f"{W}x{H}", input=raw[: W * H * 3 + 100])
    assert short.returncode == 2 and b"ended inside frame 2" in short.stderr


def _start_preview(clip: Path, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    p = subprocess.Popen(
        [
            *CLI,
            "preview",
            "--camera",
            str(clip),
            "--serve",
            "127.0.0.1:0",
            "--captures",
            str(tmp_path / "caps"),
            *extra,
        ],
        stderr=subprocess.PIPE,
        preexec_fn=_sigint_default,
    )
    line = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        line = p.stderr.readline()  # type: ignore[union-attr]
        if b"http://" in line or not line:
            break
    m = re.search(rb"http://([\d.]+):(\d+)/", line)
    if m is None:
        p.kill()
        p.communicate()
        raise AssertionError(f"preview did not say where it serves: {line!r}")
    return p, f"http://{m.group(1).decode()}:{m.group(2).decode()}"


@pytest.mark.needs_eval
def test_preview_serves_mjpeg_and_captures_stills_on_loopback(clips, tmp_path):
    p, base = _start_preview(clips["silent"], tmp_path)
    try:
        page = urllib.request.urlopen(base + "/", timeout=30).read().decode()
        assert '<img src="/stream.mjpg"' in page and "http" not in page.replace("http-equiv", "")  # nothing external
        with urllib.request.urlopen(base + "/stream.mjpg", timeout=30) as s:
            assert s.headers["Content-Type"].startswith("multipart/x-mixed-replace; boundary=")
            boundary = s.headers["Content-Type"].split("boundary=")[1].encode()
            jpegs: list[bytes] = []
            buf = b""
            while len(jpegs) < 3:
                buf += s.read1(65536)
                parts = buf.split(b"--" + boundary + b"\r\n")
                for part in parts[1:-1]:
                    head, _, body = part.partition(b"\r\n\r\n")
                    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
                    jpegs.append(body[:n])
                buf = b"--" + boundary + b"\r\n" + parts[-1]
        frame = np.asarray(Image.open(io.BytesIO(jpegs[-1])))
        assert frame.shape == (H, W, 3)
        corner = frame[:20, :20].reshape(-1, 3).astype(int)
        assert (corner > 230).all()  # the preview's background is white (the default), not the blur
        req = urllib.request.Request(base + "/capture", method="POST", headers={"Accept": "application/json"})
        cap = json.loads(urllib.request.urlopen(req, timeout=120).read())
        assert (cap["width"], cap["height"]) == (W, H) and cap["model"].startswith("modnet")
        still = Image.open(cap["path"])
        assert still.mode == "RGBA" and still.size == (W, H)
        png = urllib.request.urlopen(urllib.request.Request(base + "/capture", method="POST"), timeout=120)
        assert png.headers["Content-Type"] == "image/png" and Path(png.headers["X-Capture-Path"]).exists()
        status = json.loads(urllib.request.urlopen(base + "/status", timeout=30).read())
        assert status["preview_frames"] > 3 and status["captures"] == 2
        assert sorted(x.name for x in (tmp_path / "caps").iterdir() if x.suffix == ".png").__len__() == 2
    finally:
        p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=60)
        finally:
            p.kill()  # never leave a camera loop running behind a failed test
    assert p.returncode == 0, err.decode()
    assert b"2 stills" in err


@pytest.mark.needs_eval
def test_preview_records_to_a_file_and_refuses_without_a_sink(clips, tmp_path):
    out = tmp_path / "preview.mp4"
    r = run(
        "preview", "--camera", str(clips["silent"]), "-o", str(out), "--frames", "12", env={**os.environ, "DISPLAY": ""}
    )
    assert r.returncode == 0, r.stderr.decode()
    assert streams(out)["frames"] == 12 and streams(out)["stored"] == (W, H)
    r = run("preview", "--camera", str(clips["silent"]), env={**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert r.returncode == 5 and b"no display here" in r.stderr
    r = run("preview", "--camera", str(clips["silent"]), "-o", str(out), "--frames", "3")
    assert r.returncode == 4 and b"already exists" in r.stderr  # a recording is never replaced silently
    r = run("preview", "--camera", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "other.mp4"))
    assert r.returncode == 2 and b"no such device or video file" in r.stderr


@pytest.mark.needs_eval
def test_preview_window_on_a_real_x_server(clips, tmp_path):
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt install xvfb)")
    try:
        import tkinter  # noqa: F401
    except ImportError:
        pytest.skip("tkinter is not installed (apt install python3-tk)")
    r = subprocess.run(
        [xvfb, "-a", *CLI, "preview", "--camera", str(clips["silent"]), "--window", "--frames", "8"],
        capture_output=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr.decode()
    assert re.search(rb"preview: \d+ frames", r.stderr)


@pytest.mark.needs_eval
def test_a_clip_shorter_than_the_decoder_delay_keeps_every_frame(tmp_path):
    short = write_clip(tmp_path / "short.mp4", person_frames(3), audio=False)
    r = run("video", str(short), "-o", str(tmp_path / "o.mov"), "--quiet")
    assert r.returncode == 0, r.stderr.decode()
    assert len(list(read_rgba(tmp_path / "o.mov"))) == 3
