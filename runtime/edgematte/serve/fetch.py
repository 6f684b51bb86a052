"""image_url: fetch an image from a public http(s) address, or refuse with a clear 400.

A service that fetches URLs can be pointed at the network it sits in (the router's admin page,
another device's API, 169.254.169.254). So: http and https only; every address the host name
resolves to must be public (`ipaddress.is_global`, also for addresses embedded in IPv6
transition forms); the connection goes to the address that was checked (no second lookup
for DNS rebinding to change); redirects are re-checked; the body is capped.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import quote, urljoin, urlsplit

from edgematte.serve.replies import ApiError

MAX_REDIRECTS = 3

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use translation: always private


def is_public(ip: Address) -> bool:
    """True for a globally routable address (not private, loopback, link-local, multicast, reserved).

    Parameters
    ----------
    ip
        The address; an IPv4 address inside an IPv6 form (mapped, 6to4, Teredo) is judged by it.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in NAT64:  # 64:ff9b::a.b.c.d reaches a.b.c.d through a NAT64 gateway
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is None and (int(ip) >> 32) in (0, 0xFFFF0000):  # ::a.b.c.d and ::ffff:0:a.b.c.d
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return is_public(inner)
        if ip in LOCAL_NAT64 or ip.is_site_local:
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _refuse(url: str, why: str) -> ApiError:
    return ApiError(400, f"image_url {url[:200]} refused: {why}", "invalid_url")


def _addresses(url: str, allowed: Callable[[Address], bool]) -> tuple[str, int, str, list[str]]:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise _refuse(url, f"not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse(url, "only http:// and https:// addresses are fetched")
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _refuse(url, f"cannot resolve {parts.hostname}") from exc
    ips = list(dict.fromkeys(str(i[4][0]) for i in infos))  # the resolver's order (IPv4 first where it prefers)
    for ip in ips:
        if not allowed(ipaddress.ip_address(ip)):
            raise _refuse(url, f"{parts.hostname} is {ip}, a private, loopback or reserved address")
    return parts.scheme, port, parts.hostname, ips


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the certificate checked for the host name."""

    def __init__(self, host: str, ip: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch_image(url: str, max_bytes: int, timeout: float, allowed: Callable[[Address], bool] = is_public) -> bytes:
    """The bytes at `url`, after the checks in the module notes (blocking; run it off the event loop).

    Parameters
    ----------
    url
        An http(s) address.
    max_bytes
        Refuse a body larger than this (the service's max_body).
    timeout
        Seconds for each connect and read.
    allowed
        Which resolved addresses may be contacted. Default `is_public`; tests pass their own to
        reach a loopback server.
    """
    deadline = time.monotonic() + timeout  # the whole download, redirects included
    for _ in range(MAX_REDIRECTS + 1):
        scheme, port, host, ips = _addresses(url, allowed)
        parts = urlsplit(url)
        path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe="/?&=%:@!$'()*+,;~-._")
        default = 443 if scheme == "https" else 80
        host_header = (f"[{host}]" if ":" in host else host) + ("" if port == default else f":{port}")
        conn: http.client.HTTPConnection | None = None
        try:
            for i, ip in enumerate(ips):  # every checked address in turn (an IPv6 one may be unreachable)
                conn = (
                    _PinnedHTTPS(host, ip, port, timeout)
                    if scheme == "https"
                    else http.client.HTTPConnection(ip, port, timeout=timeout)
                )
                try:
                    conn.connect()
                    break
                except OSError:
                    conn.close()
                    if i == len(ips) - 1:
                        raise
            assert conn is not None
            conn.request("GET", path, headers={"Host": host_header, "User-Agent": "edgematte", "Accept": "image/*"})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise _refuse(url, "a redirect without a Location")
                url = urljoin(url, location)
                continue
            if resp.status != 200:
                raise _refuse(url, f"the server answered {resp.status}")
            length = resp.getheader("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise ApiError(
                    413, f"image_url's file is {length} bytes, over the {max_bytes} byte limit", "file_too_large"
                )
            chunks, size = [], 0
            while chunk := resp.read(min(65536, max_bytes + 1 - size)):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise ApiError(413, f"image_url's file is over the {max_bytes} byte limit", "file_too_large")
                if time.monotonic() > deadline:
                    raise _refuse(url, f"the download took longer than {timeout:g} s")
            return b"".join(chunks)
        except (OSError, http.client.HTTPException, UnicodeError) as exc:
            raise _refuse(url, f"download failed ({exc})") from exc
        finally:
            if conn is not None:
                conn.close()
    raise _refuse(url, f"more than {MAX_REDIRECTS} redirects")
