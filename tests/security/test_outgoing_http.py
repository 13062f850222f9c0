"""Outgoing HTTP from tasks refuses loopback, private and link-local addresses (core/net.py): the
client's guard on its own against local servers, and a real worker given a loopback URL."""

import http.server
import ipaddress
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from taskiq import AsyncBroker

from core.net import (
    ForbiddenAddress,
    GuardedTransport,
    IPAddress,
    create_http_client,
    forbidden_reason,
)
from core.settings import Settings
from tasks.images import download_image
from tests.conftest import StartProcess
from tests.support.processes import procfile_commands
from tests.support.static_server import serve_images

WITHIN = 60.0
TLS_NAME = "images.tls.invalid"
REFUSED_URLS = [
    ("http://127.0.0.1:{port}/photo.png", "127.0.0.1 is a loopback address"),
    ("http://localhost:{port}/photo.png", "localhost (127.0.0.1) is a loopback address"),
    ("http://[::1]:{port}/photo.png", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]:{port}/", "is a loopback address"),
    ("http://0.0.0.0:{port}/", "0.0.0.0 is an unspecified address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://192.168.1.1/", "192.168.1.1 is a private address"),
    ("https://172.16.0.1/", "172.16.0.1 is a private address"),
    ("http://[fd00::1]/", "fd00::1 is a private address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("http://100.64.0.1/", "100.64.0.1 is a non-public address"),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    with serve_images(tmp_path / "www") as served:
        yield served.url, served.paths


@pytest.fixture
def redirector() -> Iterator[tuple[int, list[str]]]:
    """Serves on 127.0.0.1 only: `/to?url` redirects there, anything else answers "here"."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.headers['Host']}{self.path}")
            if self.path.startswith("/to?"):
                self.send_response(302)
                self.send_header("Location", self.path.removeprefix("/to?"))
                self.end_headers()
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"here")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


async def test_the_client_refuses_every_local_kind_of_address_without_connecting(
    server: tuple[str, list[str]],
) -> None:
    url, requested = server
    port = url.rsplit(":", 1)[1]
    async with create_http_client(Settings(_env_file=None)) as http:
        for target, reason in REFUSED_URLS:
            with pytest.raises(ForbiddenAddress) as refused:
                await http.get(target.format(port=port))
            assert reason in str(refused.value), target
            assert "HTTP_ALLOW_PRIVATE=true allows it" in str(refused.value)
    assert requested == []
    # The setting lets it through, for deployments that fetch from their own network.
    async with create_http_client(Settings(_env_file=None, http_allow_private=True)) as http:
        assert (await http.get(f"{url}/photo.png")).status_code == 200
    assert requested == ["/photo.png"]


def _only(*allowed: str) -> Callable[[IPAddress], str | None]:
    """A policy letting the named loopback addresses through (the tests' stand-in for public
    ones: no public address answers on this machine), refusing every other."""

    def refuse(address: IPAddress) -> str | None:
        return None if str(address) in allowed else "test-refused"

    return refuse


async def test_a_redirect_is_checked_like_the_first_request(
    redirector: tuple[int, list[str]],
) -> None:
    port, seen = redirector
    transport = GuardedTransport(httpx.AsyncHTTPTransport(), refuse=_only("127.0.0.1"))
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as http:
        followed = await http.get(f"http://127.0.0.1:{port}/to?/landed")
        assert followed.text == "here"
        # 127.0.0.2 is on loopback too, and the policy refuses it: the hop is checked.
        with pytest.raises(ForbiddenAddress, match=r"127\.0\.0\.2 is a test-refused address"):
            await http.get(f"http://127.0.0.1:{port}/to?http://127.0.0.2:{port}/inside")
    # /inside was never asked for.
    assert seen == [
        f"127.0.0.1:{port}/to?/landed",
        f"127.0.0.1:{port}/landed",
        f"127.0.0.1:{port}/to?http://127.0.0.2:{port}/inside",
    ]


async def test_the_connection_goes_to_the_checked_address(
    redirector: tuple[int, list[str]],
) -> None:
    """DNS rebinding: a name that resolves to a public address when checked and to a private
    one when connected. Here the name resolves through the guard's resolver only (the system
    cannot resolve it at all), so the request can arrive only if the checked address is used."""
    port, seen = redirector
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.0.0.1"]

    transport = GuardedTransport(
        httpx.AsyncHTTPTransport(), resolver=rebinding, refuse=_only("127.0.0.1")
    )
    async with httpx.AsyncClient(transport=transport) as http:
        answer = await http.get(f"http://images.rebind.invalid:{port}/cat.png")
    assert answer.text == "here"
    assert lookups == ["images.rebind.invalid"]
    # The server saw the name, not the address: virtual hosts and TLS names keep working.
    assert seen == [f"images.rebind.invalid:{port}/cat.png"]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[str | None]]]:
    """HTTPS on 127.0.0.1 with a certificate for `images.tls.invalid` only; records SNI."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    names = ["-subj", f"/CN={TLS_NAME}", "-addext", f"subjectAltName=DNS:{TLS_NAME}"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run([*command, *names, *files], check=True, capture_output=True)
    seen: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: seen.append(name)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(self.headers["Host"].encode())

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], cert, seen
    finally:
        server.shutdown()
        server.server_close()


async def test_tls_is_verified_for_the_name_while_connecting_to_the_address(
    tls_server: tuple[int, Path, list[str | None]],
) -> None:
    port, cert, names = tls_server

    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    trusted = ssl.create_default_context(cafile=cert)
    transport = GuardedTransport(
        httpx.AsyncHTTPTransport(verify=trusted), resolver=to_loopback, refuse=_only("127.0.0.1")
    )
    async with httpx.AsyncClient(transport=transport) as http:
        answer = await http.get(f"https://{TLS_NAME}:{port}/")
        assert answer.text == f"{TLS_NAME}:{port}"
        # Same address, another name: the certificate does not cover it, and that is checked.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(f"https://other.tls.invalid:{port}/")
    assert names[0] == TLS_NAME


def test_a_mapped_address_is_judged_by_what_it_points_at() -> None:
    assert forbidden_reason(ipaddress.ip_address("::ffff:169.254.169.254")) == "link-local"
    assert forbidden_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert forbidden_reason(ipaddress.ip_address("2606:4700:4700::1111")) is None


@pytest.mark.e2e
async def test_a_worker_given_a_loopback_url_refuses_it(
    start: StartProcess,
    client_broker: AsyncBroker,
    server: tuple[str, list[str]],
    tmp_path: Path,
) -> None:
    url, requested = server
    start(
        "worker",
        procfile_commands()["worker"],
        MEDIA_DIR=str(tmp_path / "media"),
        WORKER_PROCESSES="1",
        DB_POOL_SIZE="2",
        DB_MAX_OVERFLOW="2",
    )
    task = await download_image.kicker().with_broker(client_broker).kiq(f"{url}/photo.png")
    result = await task.wait_result(timeout=WITHIN)
    assert result.is_err
    assert "127.0.0.1 is a loopback address" in str(result.error)
    assert requested == []
    assert not (tmp_path / "media").exists()
