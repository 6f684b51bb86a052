"""The kiosk page of `edgematte serve` in real headless Chromium, end to end.

A real server (`python -m edgematte serve` on a free loopback port) and Debian's chromium with
a fake camera that plays a clip of a real person (grabcut50's person1 swaying in front of a
blurred backdrop, 1280x720, written as .y4m). The test opens the page with `?key=...`, waits for
the live preview (masks arriving from /kiosk/matte), checks the live composite on a chosen
colour, takes a photo (/v1.0/removebg), reads the result back from the page and checks it
against the clip's ground truth: the camera's size, the background colour where the clip has no
person, the person kept where it has one.
It does the same with an uploaded background image, checks that every request the page made
carried the key, that the print stylesheet shows the result alone, and that the page fits
800x480 (Pi touch screen) and 1920x1080 with touch targets of at least 64 px. Screenshots go
to tmp_path and, when EDGEMATTE_SCREENSHOTS names a folder, there too.

Needs /usr/bin/chromium, /usr/bin/chromedriver (apt install chromium chromium-driver) and
Selenium (pip install selenium==4.51.0); skipped with the reason when one is missing. Selenium
is given the chromedriver path, so Selenium Manager never downloads a driver.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SIZES = [(800, 480), (1920, 1080)]
COLOUR = "1d4ed8"  # a background swatch of the page (data-color)
UPLOAD_RGB = (214, 40, 160)  # the uploaded background: one flat colour, easy to find in the photo
API_KEY = "kiosk-test-key-0123456789"  # the server wants >= 16 characters
CLIP_RATE = 15
CLIP_FRAMES = 45  # 3 s at 15 fps, then the fake camera loops
SERVER_START_S = 60
FIRST_MASK_S = 60
PHOTO_S = 60
MIN_TARGET_PX = 64


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt install chromium)"
    if not CHROMEDRIVER.exists():
        return f"{CHROMEDRIVER} not found (apt install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium==4.51.0)"
    return None


MISSING = _missing()
pytestmark = [pytest.mark.needs_eval, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


# ---- the fake camera -------------------------------------------------------------------------


def _person_frames() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A grabcut50 person swaying slowly (a seamless loop), on a blurred copy of their own photo,
    as evaluation.clips.person_clip builds its frames (that clip has 75 noisy frames with a jump
    and a zoom, 10 s to make on 2 cores: too slow for a test that has a browser to run)."""
    import cv2
    from PIL import Image

    from evaluation import sets
    from evaluation.clips import FRAME

    s = next(x for x in sets.samples("grabcut50") if x.name == "person1")
    with Image.open(s.image) as im, Image.open(s.gt) as g:
        img, gt = np.asarray(im.convert("RGB")), np.asarray(g.convert("L"))
    h, w = img.shape[:2]
    W, H = FRAME
    scale = 0.9 * H / h
    bg = cv2.GaussianBlur(cv2.resize(img, (W, H)), (0, 0), 25).astype(np.float32)
    frames, truths = [], []
    for i in range(CLIP_FRAMES):
        cx = W / 2 - 120 + 24 * np.sin(2 * np.pi * i / CLIP_FRAMES)
        m = np.array([[scale, 0, cx - scale * w / 2], [0, scale, H / 2 - scale * h / 2]], np.float32)
        fg = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (W, H), flags=cv2.INTER_LINEAR)
        k = inside.astype(np.float32)[..., None] / 255.0
        frames.append((fg * k + bg * (1 - k)).round().astype(np.uint8))
        truths.append(cv2.warpAffine(gt, m, (W, H), flags=cv2.INTER_NEAREST))
    return frames, truths


def _write_y4m(path: Path, frames: list[np.ndarray], rate: int) -> None:
    """RGB frames as 4:2:0 Y4M, the format Chromium's fake camera plays (OpenCV's I420 is BT.601,
    limited range, as Chromium reads it)."""
    import cv2

    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{rate}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    """The fake camera's clip (.y4m) and where every frame of it has the person / has none."""
    import cv2

    frames, truths = _person_frames()
    path = tmp_path_factory.mktemp("camera") / "person.y4m"
    _write_y4m(path, frames, CLIP_RATE)
    gts = np.stack(truths)
    band = np.ones((25, 25), np.uint8)  # leave out 12 px either side of every edge (soft edges, resampling)
    person = cv2.erode((gts == 255).all(axis=0).astype(np.uint8), band) > 0
    backdrop = cv2.erode((gts == 0).all(axis=0).astype(np.uint8), band) > 0
    return path, person, backdrop


# ---- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # CI may start us with SIGINT ignored


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    p = subprocess.Popen(
        [sys.executable, "-m", "edgematte", "serve", "--port", str(port), "--api-key", API_KEY],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=_sigint_default,
    )
    lines: list[str] = []
    listening = threading.Event()

    def read() -> None:
        for line in p.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if re.search(r"edgematte serve: listening on http://", line):
                listening.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + SERVER_START_S
    while not listening.is_set() and p.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    if not listening.is_set():
        p.kill()
        p.wait()
        raise AssertionError("edgematte serve did not say 'listening on http://':\n" + "".join(lines))
    url = re.search(r"http://\S+", next(x for x in lines if "listening on" in x)).group(0).rstrip("/")  # type: ignore[union-attr]
    try:
        yield url, lines
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(camera):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # we run as root
        "--disable-dev-shm-usage",
        "--use-fake-ui-for-media-stream",  # allow the camera without asking
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera[0]}",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1920,1080",
        "--hide-scrollbars",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _viewport(driver, w: int, h: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False}
    )
    driver.execute_script("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _wait(driver, what: str, predicate, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    status = driver.execute_script("return document.getElementById('status').textContent")
    data = driver.execute_script("return JSON.stringify(document.body.dataset)")
    console = [e["message"] for e in driver.get_log("browser")]
    raise AssertionError(f"timed out waiting for {what}; status line {status!r}; body data {data}; console {console}")


def _body(driver, key: str) -> str:
    return driver.execute_script(f"return document.body.dataset.{key} || ''")


def _masks(driver) -> int:
    return int(_body(driver, "masks") or 0)


def _screenshot(driver, tmp_path: Path, name: str) -> None:
    driver.save_screenshot(str(tmp_path / name))
    extra = os.environ.get("EDGEMATTE_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, Path(extra) / name)


def _check_layout(driver, w: int, h: int, selectors: str) -> None:
    """No scrolling, and every visible touch target at least MIN_TARGET_PX each way, inside the view."""
    got = driver.execute_script(
        """
        const d = document.documentElement;
        const boxes = [...document.querySelectorAll(arguments[0])]
          .filter(e => e.offsetParent !== null)
          .map(e => { const r = e.getBoundingClientRect();
                      return {id: e.id || e.title || e.textContent.trim(), w: r.width, h: r.height,
                              right: r.right, bottom: r.bottom}; });
        return {sw: d.scrollWidth, sh: d.scrollHeight, iw: innerWidth, ih: innerHeight, boxes};
        """,
        selectors,
    )
    assert (got["iw"], got["ih"]) == (w, h), got
    assert got["sw"] <= w and got["sh"] <= h, f"the page scrolls at {w}x{h}: {got}"
    assert got["boxes"], f"no touch target visible at {w}x{h}"
    for b in got["boxes"]:
        assert b["w"] >= MIN_TARGET_PX and b["h"] >= MIN_TARGET_PX, f"{b} is too small at {w}x{h}"
        assert b["right"] <= w + 0.5 and b["bottom"] <= h + 0.5, f"{b} is outside the view at {w}x{h}"


DENY_CAMERA = """
navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
"""

READ_RESULT = """
const done = arguments[arguments.length - 1];
const img = document.getElementById('result');
fetch(img.src).then(r => r.arrayBuffer()).then(buf => {
  const bytes = new Uint8Array(buf); let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  done({b64: btoa(s), natural: [img.naturalWidth, img.naturalHeight],
        video: [document.getElementById('video').videoWidth, document.getElementById('video').videoHeight],
        download: document.getElementById('download').getAttribute('download'),
        href: document.getElementById('download').href});
}, e => done({error: String(e)}));
"""

READ_PREVIEW_CORNERS = """
const c = document.getElementById('preview'), ctx = c.getContext('2d'), n = 16;
return [[0, 0], [c.width - n, 0], [0, c.height - n], [c.width - n, c.height - n]].map(([x, y]) => {
  const d = ctx.getImageData(x, y, n, n).data; const m = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { m[0] += d[i]; m[1] += d[i + 1]; m[2] += d[i + 2]; }
  return m.map(v => v / (n * n));
});
"""


def _rgb(hex_: str) -> np.ndarray:
    return np.array([int(hex_[i : i + 2], 16) for i in (0, 2, 4)], np.float32)


def _photo(driver, what: str):  # type: ignore[no-untyped-def]
    """Press the capture button, wait for the result and read it back from the page."""
    from PIL import Image

    driver.find_element("id", "capture").click()
    _wait(driver, f"the photo ({what})", lambda: _body(driver, "state") == "result", PHOTO_S)
    got = driver.execute_async_script(READ_RESULT)
    assert "error" not in got, got
    img = Image.open(io.BytesIO(base64.b64decode(got["b64"])))
    assert img.format == "PNG"
    return np.asarray(img.convert("RGB")).astype(np.float32), got


def _check_photo(rgb: np.ndarray, got: dict, camera, want: np.ndarray, what: str) -> None:  # type: ignore[type-arg]
    _, person, backdrop = camera
    h, w = rgb.shape[:2]
    assert [w, h] == got["video"] == got["natural"], (what, got["video"], got["natural"], (w, h))
    assert (w, h) == person.shape[::-1], f"the camera frame is {w}x{h}, the clip {person.shape[::-1]}"
    for y, x in ((0, 0), (0, w - 16), (h - 16, 0), (h - 16, w - 16)):
        corner = rgb[y : y + 16, x : x + 16].reshape(-1, 3).mean(axis=0)
        assert np.abs(corner - want).max() <= 6, (what, "corner", (x, y), corner, want)
    is_bg = np.abs(rgb - want).max(axis=2) <= 12
    assert is_bg[backdrop].mean() >= 0.97, (what, "backdrop replaced", is_bg[backdrop].mean())
    kept = np.abs(rgb - want).sum(axis=2) > 40
    assert kept[person].mean() >= 0.95, (what, "person kept", kept[person].mean())
    assert re.fullmatch(r"edgematte-\d{8}-\d{6}\.png", got["download"] or ""), got["download"]
    assert got["href"].startswith("blob:"), got["href"]


def test_kiosk_live_preview_photo_print_and_layout(server, browser, camera, tmp_path):
    url, server_log = server
    driver = browser
    _viewport(driver, 1920, 1080)
    # A camera the user refused: the page says what to do (getUserMedia fails as on a denial).
    deny = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DENY_CAMERA})
    driver.get(f"{url}/?key={API_KEY}")
    _wait(driver, "the camera error", lambda: _body(driver, "state") == "error", 20)
    assert "Camera access was denied" in driver.find_element("id", "status").text
    driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": deny["identifier"]})

    # Without the key: the page loads (it and its files are open) and says why the preview fails,
    # with the server's own words (errors[0].title).
    driver.get(f"{url}/")
    _wait(driver, "the key error", lambda: "X-Api-Key" in driver.find_element("id", "status").text, FIRST_MASK_S)
    assert _masks(driver) == 0
    driver.get_log("performance")  # drained: the requests below must all carry the key

    driver.get(f"{url}/?key={API_KEY}")
    _wait(driver, "the live preview", lambda: _masks(driver) >= 3, FIRST_MASK_S)
    assert _body(driver, "state") == "live"

    # A colour: the live composite shows it where there is no person (the clip's corners).
    driver.find_element("css selector", f'.swatch[data-color="{COLOUR}"]').click()
    _wait(driver, "the colour to be chosen", lambda: _body(driver, "background") == COLOUR, 10)
    n = _masks(driver)
    _wait(driver, "two more masks", lambda: _masks(driver) >= n + 2, 20)
    _wait(driver, "an fps figure", lambda: float(_body(driver, "fps") or 0) > 0, 5)
    for corner in driver.execute_script(READ_PREVIEW_CORNERS):
        assert np.abs(np.array(corner) - _rgb(COLOUR)).max() <= 8, ("live composite corner", corner)
    assert re.fullmatch(r"\d+(\.\d)? fps · \d+ ms", driver.find_element("id", "fps").text), driver.find_element(
        "id", "fps"
    ).text
    for w, h in SIZES:
        _viewport(driver, w, h)
        _check_layout(driver, w, h, "#backgrounds .swatch, #capture")
        _screenshot(driver, tmp_path, f"kiosk-live-{w}x{h}.png")

    # The photo on that colour, at the camera's full size.
    rgb, got = _photo(driver, "colour")
    _check_photo(rgb, got, camera, _rgb(COLOUR), "colour")
    for w, h in SIZES:
        _viewport(driver, w, h)
        _check_layout(driver, w, h, "#download, #print, #back")
        _screenshot(driver, tmp_path, f"kiosk-result-{w}x{h}.png")

    # Printing shows the result alone.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    shown = driver.execute_script(
        "return ['result', 'preview', 'controls', 'status', 'fps', 'busy'].filter("
        "id => getComputedStyle(document.getElementById(id)).display !== 'none')"
    )
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert shown == ["result"], shown

    # Back to the preview, then an uploaded background image.
    driver.find_element("id", "back").click()
    n = _masks(driver)
    _wait(driver, "the preview again", lambda: _body(driver, "state") == "live" and _masks(driver) >= n + 2, 20)
    from PIL import Image

    upload = tmp_path / "my-background.png"
    Image.new("RGB", (640, 400), UPLOAD_RGB).save(upload)
    driver.find_element("id", "upload").send_keys(str(upload))
    _wait(driver, "the uploaded background", lambda: _body(driver, "background") == "upload", 10)
    assert driver.find_element("id", "uploaded").is_displayed()
    _viewport(driver, *SIZES[0])
    _check_layout(driver, *SIZES[0], "#backgrounds .swatch, #capture")  # one more swatch still fits
    rgb, got = _photo(driver, "uploaded image")
    _check_photo(rgb, got, camera, np.array(UPLOAD_RGB, np.float32), "uploaded image")

    # Every request the page's script made carried the key (?key=).
    sent: dict[str, list[bool]] = {}
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] != "Network.requestWillBeSent":
            continue
        req = msg["params"]["request"]
        path = re.sub(r"^https?://[^/]+", "", req["url"])
        if path.startswith(("/kiosk/matte", "/v1.0/removebg", "/kiosk/backgrounds/")):
            headers = {k.lower(): v for k, v in req["headers"].items()}
            sent.setdefault(path, []).append(headers.get("x-api-key") == API_KEY)
    assert {"/kiosk/matte", "/v1.0/removebg", "/kiosk/backgrounds/studio.jpg"} <= set(sent), sorted(sent)
    assert all(all(v) for v in sent.values()), {k: v.count(False) for k, v in sent.items()}
    assert "Traceback" not in "".join(server_log), "".join(server_log)
