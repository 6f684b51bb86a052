"""`edgematte serve` end to end: a real server on loopback, real models, real clients.

remove.bg's API (multipart, urlencoded, JSON; the `removebg` client library unchanged but for
its URL), rembg's API (curl as in rembg's README), the seller verbs, keys, metrics, the queue
bound (429), and a graceful SIGTERM.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
import requests
from PIL import Image

from tests.conftest import REPO
from tests.serving import Served

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install -e '.[serve]'")

SAMPLE = REPO / "runtime" / "edgematte" / "data" / "sample.jpg"
PERSON = REPO.parent / "shared" / "eval" / "grabcut50" / "images" / "person8.png"  # long hair: a soft edge


@pytest.fixture(scope="module")
def server():
    with Served("--allow-urls", "--read-timeout", "3", "--max-body-mb", "8", "--queue", "4") as s:
        yield s


def _png(resp) -> Image.Image:  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.text[:300]
    return Image.open(io.BytesIO(resp.content))


def test_removebg_multipart_returns_a_cutout_with_removebg_headers(server):
    r = requests.post(
        f"{server.url}/v1.0/removebg", files={"image_file": SAMPLE.read_bytes()}, data={"size": "full"}, timeout=60
    )
    im = _png(r)
    src = Image.open(SAMPLE)
    assert im.mode == "RGBA" and im.size == src.size
    assert r.headers["X-Width"] == str(src.width) and r.headers["X-Height"] == str(src.height)
    assert r.headers["X-Type"] in ("person", "product") and r.headers["X-Credits-Charged"] == "0"
    a = np.asarray(im)[..., 3]
    assert a.min() == 0 and a.max() == 255  # background gone, subject kept


def test_size_preview_is_a_quarter_megapixel_and_bg_color_flattens_to_jpeg(server):
    r = requests.post(
        f"{server.url}/v1.0/removebg",
        files={"image_file": SAMPLE.read_bytes()},
        data={"bg_color": "00ff00"},
        timeout=60,
    )  # size defaults to preview, as remove.bg's
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"  # format=auto: opaque -> JPEG
    im = Image.open(io.BytesIO(r.content))
    assert im.width * im.height <= 250_000
    corner = np.asarray(im.convert("RGB"))[:4, :4].reshape(-1, 3).mean(axis=0)
    assert corner[1] > 200 and corner[0] < 60 and corner[2] < 60


def test_json_body_with_base64_and_accept_json(server):
    body = {
        "image_file_b64": base64.b64encode(SAMPLE.read_bytes()).decode(),
        "size": "medium",
        "format": "png",
        "channels": "alpha",
        "crop": None,  # SDKs send null for options they leave unset
    }
    r = requests.post(f"{server.url}/v1.0/removebg", json=body, headers={"Accept": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text[:300]
    data = r.json()["data"]
    mask = Image.open(io.BytesIO(base64.b64decode(data["result_b64"])))
    assert mask.mode == "L" and mask.width * mask.height <= 1_500_000
    assert data["foreground_width"] > 0 and data["foreground_height"] > 0


def test_zip_holds_color_and_alpha_and_crop_fits_the_subject(server):
    r = requests.post(
        f"{server.url}/v1.0/removebg",
        files={"image_file": SAMPLE.read_bytes()},
        data={"format": "zip", "crop": "true", "size": "full"},
        timeout=60,
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(z.namelist()) == ["alpha.png", "color.jpg"]
    alpha = np.asarray(Image.open(z.open("alpha.png")))
    colour = Image.open(z.open("color.jpg"))
    assert colour.size == (alpha.shape[1], alpha.shape[0]) == (int(r.headers["X-Width"]), int(r.headers["X-Height"]))
    src = Image.open(SAMPLE)
    assert alpha.shape[1] < src.width or alpha.shape[0] < src.height  # cropped to the subject
    assert (alpha[0] >= 16).any() and (alpha[-1] >= 16).any()  # the subject touches the crop's top and bottom


def test_scale_position_shadow_and_background_image(server):
    bg = np.zeros((60, 80, 3), np.uint8)
    bg[:] = (20, 40, 200)
    buf = io.BytesIO()
    Image.fromarray(bg).save(buf, "PNG")
    r = requests.post(
        f"{server.url}/v1.0/removebg",
        files={"image_file": SAMPLE.read_bytes(), "bg_image_file": buf.getvalue()},
        data={"scale": "50%", "position": "center", "add_shadow": "true", "size": "full"},
        timeout=60,
    )
    im = (
        np.asarray(_png(r).convert("RGB"))
        if r.headers["content-type"] == "image/png"
        else np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    )
    assert abs(int(im[2, 2, 2]) - 200) < 30  # the background image shows at the corners
    fw, fh = int(r.headers["X-Foreground-Width"]), int(r.headers["X-Foreground-Height"])
    h, w = im.shape[:2]
    assert max(fw / w, fh / h) == pytest.approx(0.5, abs=0.03)  # the subject at 50% of the output
    fx = int(r.headers["X-Foreground-Left"]) + fw / 2
    assert fx == pytest.approx(w / 2, abs=0.03 * w)


def test_type_person_and_auto_route_a_portrait_to_the_matting_model(server):
    if not PERSON.exists():
        pytest.skip("eval images not found")
    for kind in ("person", "auto"):
        r = requests.post(
            f"{server.url}/v1.0/removebg", files={"image_file": PERSON.read_bytes()}, data={"type": kind}, timeout=60
        )
        assert r.status_code == 200
        assert r.headers["X-Type"] == "person" and r.headers["X-Model"].startswith("modnet")
    r = requests.post(
        f"{server.url}/v1.0/removebg", files={"image_file": PERSON.read_bytes()}, data={"type": "product"}, timeout=60
    )
    assert r.headers["X-Type"] == "product" and r.headers["X-Model"].startswith("u2netp")


def test_the_removebg_client_library_works_unchanged_but_for_its_url(server, tmp_path):
    removebg = pytest.importorskip("removebg.removebg", reason="the removebg client (test extra) is not installed")
    removebg.API_ENDPOINT = f"{server.url}/v1.0/removebg"  # the one change: the base URL
    client = removebg.RemoveBg("any-key", str(tmp_path / "errors.log"))
    src = tmp_path / "photo.jpg"
    shutil.copy(SAMPLE, src)
    client.remove_background_from_img_file(str(src))
    out = Image.open(str(src) + "_no_bg.png")
    assert out.mode == "RGBA" and out.width * out.height <= 250_000  # size=regular (0.25 MP)
    client.remove_background_from_base64_img(
        base64.b64encode(SAMPLE.read_bytes()).decode(), new_file_name=str(tmp_path / "b64.png"), bg_color="white"
    )
    assert Image.open(tmp_path / "b64.png").mode in ("RGB", "RGBA")


def test_carvekit_path_and_account(server):
    r = requests.post(f"{server.url}/api/removebg", files={"image_file": SAMPLE.read_bytes()}, timeout=60)
    assert r.status_code == 200
    acc = requests.get(f"{server.url}/v1.0/account", timeout=10).json()
    assert "credits" in acc["data"]["attributes"]


def test_rembg_curl_usage_from_its_readme(server, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    out = tmp_path / "output.png"
    subprocess.run(["curl", "-s", "-F", f"file=@{SAMPLE}", f"{server.url}/api/remove", "-o", str(out)], check=True)
    im = Image.open(out)
    assert im.mode == "RGBA" and im.size == Image.open(SAMPLE).size  # rembg: the image's own size
    mask = tmp_path / "mask.png"
    subprocess.run(
        ["curl", "-s", "-F", f"file=@{SAMPLE}", "-F", "om=true", f"{server.url}/api/remove", "-o", str(mask)],
        check=True,
    )
    assert Image.open(mask).mode == "L"
    bgc = tmp_path / "bgc.png"
    subprocess.run(
        ["curl", "-s", "-F", f"file=@{SAMPLE}", f"{server.url}/api/remove?bgc=255,0,0,255", "-o", str(bgc)], check=True
    )
    assert tuple(np.asarray(Image.open(bgc).convert("RGB"))[1, 1]) == pytest.approx((255, 0, 0), abs=3)


def test_rembg_get_with_url_refuses_loopback(server):
    r = requests.get(f"{server.url}/api/remove", params={"url": f"{server.url}/healthz"}, timeout=10)
    assert r.status_code == 400 and "private, loopback or reserved" in r.json()["errors"][0]["title"]


def test_seller_verbs_over_http(server):
    r = requests.post(
        f"{server.url}/v1/compose", files={"file": SAMPLE.read_bytes()}, data={"preset": "amazon"}, timeout=60
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    im = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    assert im.shape[0] == im.shape[1] and (im[:3, :3] >= 250).all()  # a square on pure white
    r = requests.post(
        f"{server.url}/v1/check", files={"file": SAMPLE.read_bytes()}, data={"preset": "amazon"}, timeout=60
    )
    report = r.json()
    assert r.status_code == 200 and report["preset"] == "amazon" and report["findings"]


def test_kiosk_matte_returns_the_mask_in_alpha(server):
    frame = Image.open(SAMPLE).convert("RGB")
    frame.thumbnail((256, 256))
    buf = io.BytesIO()
    frame.save(buf, "JPEG")
    for ts in (100, 166):
        r = requests.post(
            f"{server.url}/kiosk/matte",
            data=buf.getvalue(),
            headers={"Content-Type": "image/jpeg", "X-Timestamp-Ms": str(ts)},
            timeout=30,
        )
        m = _png(r)
        assert m.mode == "RGBA" and m.size == frame.size


def test_healthz_and_metrics(server):
    assert requests.get(f"{server.url}/healthz", timeout=5).json()["status"] == "ok"
    text = requests.get(f"{server.url}/metrics", timeout=5).text
    assert 'edgematte_requests_total{route="/v1.0/removebg",status="200"}' in text
    for name in ("edgematte_request_seconds_bucket", "edgematte_queue_depth", "edgematte_resident_memory_bytes"):
        assert name in text
    rss = int(next(line.split()[1] for line in text.splitlines() if line.startswith("edgematte_resident_memory")))
    assert rss > 10_000_000


def test_page_is_served(server):
    r = requests.get(f"{server.url}/", timeout=5)
    assert r.status_code == 200 and "<html" in r.text.lower()


# -- binding and keys ----------------------------------------------------------------------------


def test_another_host_without_a_key_refuses_to_start():
    p = subprocess.run(
        [sys.executable, "-m", "edgematte", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 5
    assert "without an API key" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_keys_are_required_when_given(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# booth keys\nk-0123456789abcdef\n")
    with Served("--api-keys-file", str(keys)) as s:
        r = requests.post(f"{s.url}/v1.0/removebg", files={"image_file": SAMPLE.read_bytes()}, timeout=60)
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "auth_failed"
        r = requests.post(
            f"{s.url}/v1.0/removebg",
            files={"image_file": SAMPLE.read_bytes()},
            headers={"X-Api-Key": "k-0123456789abcdeX"},
            timeout=60,
        )
        assert r.status_code == 403
        r = requests.post(
            f"{s.url}/v1.0/removebg",
            files={"image_file": SAMPLE.read_bytes()},
            headers={"X-Api-Key": "k-0123456789abcdef"},
            timeout=60,
        )
        assert r.status_code == 200
        assert requests.get(f"{s.url}/healthz", timeout=5).status_code == 200  # liveness needs no key


# -- the queue bound and shutdown ----------------------------------------------------------------


def _big_jpeg() -> bytes:
    im = Image.open(SAMPLE).convert("RGB").resize((3000, 2000))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_full_queue_answers_429_and_sigterm_finishes_in_flight_requests():
    data = _big_jpeg()
    with Served("--workers", "1", "--queue", "0") as s:
        results: list[requests.Response] = []

        def post() -> None:
            results.append(
                requests.post(f"{s.url}/v1.0/removebg", files={"image_file": data}, data={"size": "full"}, timeout=120)
            )

        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes.count(200) >= 1 and set(codes) <= {200, 429} and 429 in codes
        busy = next(r for r in results if r.status_code == 429)
        assert int(busy.headers["Retry-After"]) >= 1 and busy.json()["errors"][0]["code"] == "rate_limit_exceeded"

        # SIGTERM while a request is in flight: it still gets its answer, then the service exits 0.
        done: list[requests.Response] = []
        t = threading.Thread(
            target=lambda: done.append(
                requests.post(f"{s.url}/v1.0/removebg", files={"image_file": data}, data={"size": "full"}, timeout=120)
            )
        )
        t.start()
        deadline = time.time() + 30
        while time.time() < deadline:  # wait until the request is admitted
            depth = requests.get(f"{s.url}/metrics", timeout=5).text
            if "edgematte_queue_depth 1" in depth:
                break
            time.sleep(0.02)
        s.proc.send_signal(signal.SIGTERM)
        t.join(120)
        assert done and done[0].status_code == 200 and Image.open(io.BytesIO(done[0].content)).size == (3000, 2000)
        assert s.proc.wait(60) == 0


def test_timeout_answers_503_with_retry_after():
    with Served("--workers", "1", "--timeout", "0.2") as s:
        r = requests.post(
            f"{s.url}/v1.0/removebg", files={"image_file": _big_jpeg()}, data={"size": "full"}, timeout=120
        )
        assert r.status_code == 503 and r.json()["errors"][0]["code"] == "timeout" and "Retry-After" in r.headers
        time.sleep(3)  # the job finishes on its worker; the service answers again
        assert requests.get(f"{s.url}/healthz", timeout=5).status_code == 200


def _raw(url: str, payload: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    host, port = url.split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    c.request("POST", "/v1.0/removebg", body=payload, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body) if body.startswith(b"{") else {}


# -- hostile requests: each a clear 4xx, and the service still answers afterwards -----------------


def _error(r) -> str:  # type: ignore[no-untyped-def]
    errors = r.json()["errors"]
    assert len(errors) == 1 and errors[0]["title"] and errors[0]["code"]
    return errors[0]["code"]


def _png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_hostile_requests_get_clear_4xx(server):
    url = f"{server.url}/v1.0/removebg"
    cases = {
        "wrong content type": (requests.post(url, data=b"\x00" * 100, headers={"Content-Type": "text/plain"}), 415),
        "0-byte file": (requests.post(url, files={"image_file": b""}), 400),
        "non-image": (requests.post(url, files={"image_file": (REPO / "README.md").read_bytes()}), 415),
        "decompression bomb": (
            requests.post(url, files={"image_file": _png_bytes(Image.new("1", (20000, 20000)))}),
            413,
        ),
        "60 MP image": (requests.post(url, files={"image_file": _png_bytes(Image.new("L", (7746, 7746)))}), 413),
        "huge form field": (
            requests.post(url, files={"image_file": SAMPLE.read_bytes()}, data={"size": "x" * 2_000_000}),
            400,
        ),
        "two sources": (
            requests.post(
                url, files={"image_file": SAMPLE.read_bytes()}, data={"image_url": "https://example.com/a.jpg"}
            ),
            400,
        ),
        "no source": (requests.post(url, data={"size": "full"}), 400),
        "bad base64": (requests.post(url, json={"image_file_b64": "%%%not base64"}), 400),
        "bad json": (requests.post(url, data=b"{nope", headers={"Content-Type": "application/json"}), 400),
        "bad colour": (requests.post(url, files={"image_file": SAMPLE.read_bytes()}, data={"bg_color": "nope"}), 400),
        "url to loopback": (requests.post(url, data={"image_url": "http://127.0.0.1:22/x.png"}), 400),
        "url to private range": (requests.post(url, data={"image_url": "http://192.168.1.1/x.png"}), 400),
        "url not http": (requests.post(url, data={"image_url": "file:///etc/passwd"}), 400),
        "body over the limit": (requests.post(url, files={"image_file": b"\xff" * (9 * 1024 * 1024)}), 413),
    }
    for name, (r, status) in cases.items():
        assert r.status_code == status, f"{name}: {r.status_code} {r.text[:200]}"
        _error(r)
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_truncated_multipart_is_400(server):
    boundary = "edgematteboundary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image_file"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + SAMPLE.read_bytes()
    cut = part[: len(part) // 2]  # no end of the part, no closing boundary
    status, body = _raw(
        server.url, cut, {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(len(cut))}
    )
    assert status in (400, 415) and body["errors"][0]["code"] in ("invalid_body", "invalid_image", "missing_source")


def test_slow_upload_is_cut_off_with_408(server):
    host, port = server.url.split("//")[1].split(":")
    with socket_connection(host, int(port)) as sock:
        head = (
            f"POST /v1.0/removebg HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/jpeg\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode()
        sock.sendall(head)
        t0 = time.time()
        answer = b""
        sock.settimeout(0.5)
        while time.time() - t0 < 20 and b"\r\n\r\n" not in answer:
            try:
                sock.sendall(b"x")  # one byte every half second: a slow loris
            except OSError:
                break
            with contextlib.suppress(TimeoutError):
                answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.time() - t0 < 10  # cut off at the 3 s read timeout, not after the whole upload


class socket_connection:  # noqa: N801 - a context manager used like a function
    def __init__(self, host: str, port: int):
        import socket

        self.sock = socket.create_connection((host, port), timeout=5)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.sock

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
