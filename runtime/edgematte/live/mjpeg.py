"""The booth's preview as an MJPEG stream on loopback, for a kiosk browser (stdlib HTTP only).

    GET  /            a page: the stream, and a capture button (works offline: nothing external)
    GET  /stream.mjpg multipart/x-mixed-replace JPEG frames, as browsers show in an <img>
    GET  /frame.jpg   the newest preview frame
    GET  /status      JSON: camera and preview frames, dropped frames, preview fps, models
    POST /capture     the still, full resolution, through the high-quality path: image/png
                      (its path in X-Capture-Path), or JSON with Accept: application/json

Each new preview frame is JPEG-encoded once, however many clients watch.
"""

from __future__ import annotations

import base64
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from edgematte.errors import EdgematteError, OptionError
from edgematte.live.booth import Booth
from edgematte.settings import MJPEG_QUALITY

BOUNDARY = "edgematte-frame"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>edgematte preview</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{margin:0;background:#111;color:#eee;font:20px sans-serif;display:flex;flex-direction:column;
align-items:center}img{max-width:100vw;max-height:80vh}button{font-size:28px;padding:18px 48px;margin:12px;
border-radius:12px}#out{max-height:30vh}</style></head><body>
<img src="/stream.mjpg" alt="live preview"><button id="c">Take the photo</button><img id="out" alt="">
<script>document.getElementById('c').onclick=async()=>{const r=await fetch('/capture',{method:'POST',
headers:{Accept:'application/json'}});const j=await r.json();if(j.png_b64){document.getElementById('out').src=
'data:image/png;base64,'+j.png_b64}};</script></body></html>"""


def parse_address(text: str) -> tuple[str, int]:
    """'127.0.0.1:8090' -> ('127.0.0.1', 8090); OptionError otherwise."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise OptionError(f"--serve {text!r}: HOST:PORT expected, e.g. 127.0.0.1:8090")
    return host.strip("[]"), int(port)


class _Frames:
    """The newest preview frame as JPEG, encoded once per frame."""

    def __init__(self, booth: Booth):
        self.booth = booth
        self._lock = threading.Lock()
        self._n = -1
        self._jpeg = b""

    def jpeg(self, after: int, timeout: float = 5.0) -> tuple[int, bytes] | None:
        import cv2

        if self.booth.wait_result(after, timeout) is None:
            return None
        n, r = self.booth.latest_numbered()
        if r is None:
            return None
        with self._lock:
            if n != self._n:
                bgr = cv2.cvtColor(r.pixels, cv2.COLOR_RGB2BGR)
                _, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, MJPEG_QUALITY])
                self._n, self._jpeg = n, buf.tobytes()
            return self._n, self._jpeg


def serve(booth: Booth, host: str, port: int) -> ThreadingHTTPServer:
    """Start the MJPEG server for a running booth (on its own thread); returns the server.

    Parameters
    ----------
    booth
        The started Booth whose preview is streamed.
    host, port
        Where to listen. Loopback is what a kiosk browser on the same board needs; port 0
        picks a free port (server.server_address says which).
    """
    frames = _Frames(booth)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet: the booth's console is for people
            pass

        def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: dict) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                self._send(200, PAGE.encode(), "text/html; charset=utf-8")
            elif path == "/status":
                self._json(200, booth.stats())
            elif path == "/frame.jpg":
                got = frames.jpeg(-1 if booth.latest is not None else 0)
                if got is None:
                    self._json(503, {"error": "no preview frame yet"})
                else:
                    self._send(200, got[1], "image/jpeg")
            elif path == "/stream.mjpg":
                self._stream()
            else:
                self._json(404, {"error": f"no such path: {path}"})

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            n = booth.results - 1
            try:
                while True:
                    got = frames.jpeg(n)
                    if got is None:
                        if not booth.running:
                            return
                        continue
                    n, jpeg = got
                    self.wfile.write(
                        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                        + jpeg
                        + b"\r\n"
                    )
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, EdgematteError):
                return  # the client left, or the camera stopped: the response ends here
            finally:
                self.close_connection = True

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 1 << 16))
            if path != "/capture":
                self._json(404, {"error": f"no such path: {path}"})
                return
            try:
                c = booth.capture()
            except EdgematteError as exc:
                self._json(HTTPStatus.CONFLICT if "no camera frame" in str(exc) else 500, {"error": str(exc)})
                return
            if "application/json" in (self.headers.get("Accept") or ""):
                self._json(
                    200,
                    {
                        "path": str(c.path),
                        "width": c.width,
                        "height": c.height,
                        "seconds": round(c.seconds, 3),
                        "model": c.model,
                        "png_b64": base64.b64encode(c.png).decode(),
                    },
                )
            else:
                self._send(200, c.png, "image/png", {"X-Capture-Path": str(c.path)})

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise OptionError(f"--serve {host}:{port}: cannot listen there ({exc.strerror or exc})") from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="edgematte-mjpeg", daemon=True).start()
    return server
