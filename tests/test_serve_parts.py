"""The service's parts without a server: remove.bg parameters, layout, the URL fetcher's checks."""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install -e '.[serve]'")

from edgematte.serve.body import Fields
from edgematte.serve.fetch import fetch_image, is_public
from edgematte.serve.layout import crop, place, subject_box
from edgematte.serve.params import parse_bg_color, rembg_request, removebg_request
from edgematte.serve.replies import ApiError


def test_bg_color_forms():
    assert parse_bg_color("81d4fa") == (0x81, 0xD4, 0xFA, 255)
    assert parse_bg_color("#81d4fa77") == (0x81, 0xD4, 0xFA, 0x77)
    assert parse_bg_color("fff") == (255, 255, 255, 255)
    assert parse_bg_color("fff7") == (255, 255, 255, 0x77)
    assert parse_bg_color("red") == (255, 0, 0, 255)
    assert parse_bg_color("255,0,0,128") == (255, 0, 0, 128)
    with pytest.raises(ApiError):
        parse_bg_color("81d4fz")


def test_removebg_parameters():
    r = removebg_request(
        Fields(text={"size": "HD", "type": "car", "format": "jpeg", "crop_margin": "10px 5%", "scale": "80%"}),
        "preview",
        None,
    )
    assert r.max_pixels == 4_000_000 and r.kind == "product" and r.format == "jpg"
    assert r.crop_margin == ((10.0, False), (0.05, True), (10.0, False), (0.05, True))
    assert r.scale == pytest.approx(0.8) and r.position == (0.5, 0.5)  # scaling implies centre, as remove.bg
    assert removebg_request(Fields(), "preview", None).max_pixels == 250_000
    for bad in (
        {"size": "x"},
        {"type": "dog"},
        {"scale": "5%"},
        {"position": "left"},
        {"crop": "maybe"},
        {"crop_margin": "60%"},
    ):
        with pytest.raises(ApiError) as e:
            removebg_request(Fields(text=bad), "preview", None)
        assert e.value.status == 400


def test_rembg_parameters():
    assert rembg_request(Fields(text={"model": "u2net_human_seg"})).kind == "person"
    assert rembg_request(Fields(text={"a": "true"})).kind == "person"  # alpha matting -> our matting model
    r = rembg_request(Fields(text={"om": "true", "bgc": "0,0,0,255"}))
    assert r.channels == "alpha" and r.kind == "product" and r.bg_color == (0, 0, 0, 255)


def _square_subject() -> np.ndarray:
    rgba = np.zeros((100, 200, 4), np.uint8)
    rgba[40:60, 50:90] = (10, 200, 30, 255)
    return rgba


def test_crop_with_margins_pads_past_the_edges():
    req = removebg_request(Fields(text={"crop": "true", "crop_margin": "50%"}), "full", None)
    out = crop(_square_subject(), req)
    assert out.shape[:2] == (20 + 20, 40 + 40)  # 50% of 20 px high, 40 px wide on each side
    assert subject_box(out[..., 3]) == (20, 10, 60, 30)


def test_place_scales_and_centres():
    req = removebg_request(Fields(text={"scale": "50%"}), "full", None)
    out, (_x, _y, w, h) = place(_square_subject(), req)
    assert out.shape == (100, 200, 4)
    assert (w, h) == (100, 50)  # the subject's long relative side at 50% of the output
    assert subject_box(out[..., 3]) == (50, 25, 150, 75)


def test_position_aligns_like_css():
    req = removebg_request(Fields(text={"scale": "50%", "position": "0% 100%"}), "full", None)
    out, (x, y, _w, h) = place(_square_subject(), req)
    assert (x, y + h) == (0, 100)  # flush left, flush bottom
    assert subject_box(out[..., 3]) == (0, 50, 100, 100)


def test_public_addresses_only():
    for ip in (
        "64:ff9b::c0a8:101",  # NAT64 of 192.168.1.1
        "::c0a8:101",
        "::ffff:0:c0a8:101",
        "fec0::1",
        "64:ff9b:1::1",
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "2002:c0a8:0101::",
        "224.0.0.1",
        "0.0.0.0",
    ):
        assert not is_public(ipaddress.ip_address(ip)), ip
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert is_public(ipaddress.ip_address("64:ff9b::808:808"))  # NAT64 of a public address


@pytest.fixture
def file_server():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/image")
                self.end_headers()
                return
            body = b"x" * (5000 if self.path == "/big" else 100)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_fetch_follows_redirects_caps_size_and_refuses_loopback_by_default(file_server):
    anything = lambda ip: True  # noqa: E731 - this test's server is on loopback
    assert fetch_image(f"{file_server}/redirect", 1000, 5, anything) == b"x" * 100
    with pytest.raises(ApiError) as e:
        fetch_image(f"{file_server}/big", 1000, 5, anything)
    assert e.value.status == 413
    with pytest.raises(ApiError) as e:
        fetch_image(f"{file_server}/image", 1000, 5)
    assert e.value.status == 400 and "loopback" in e.value.title
