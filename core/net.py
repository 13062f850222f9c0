"""Outgoing HTTP for tasks: the per-process client, refusing addresses a URL must not reach.

A task that downloads what a message names (the image pipeline) would otherwise fetch
`http://127.0.0.1:6379`, the database's port, or a cloud metadata endpoint (169.254.169.254) for
whoever can kick it. `GuardedTransport` sits under the client, so every request it makes is
checked, each redirect hop included: the host is resolved once, every address it resolves to
must be public (not loopback, private, link-local, multicast, reserved or unspecified, IPv4
mapped into IPv6 included), and the connection goes to the address that was checked. A second
lookup by the connection layer could answer differently (DNS rebinding); the name is kept for
the `Host` header and for TLS (SNI and certificate checks).

HTTP_ALLOW_PRIVATE=true turns the check off (a deployment fetching from its own network, and the
tests' loopback servers).
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

from core.settings import Settings

__all__ = ["ForbiddenAddress", "GuardedTransport", "create_http_client", "forbidden_reason"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


class ForbiddenAddress(ValueError):
    """The URL's host is, or resolves to, an address outgoing HTTP must not reach.

    A ValueError, not an httpx error: retrying can't help, and a task's retry policy for
    network errors must not try again.
    """


def forbidden_reason(address: IPAddress) -> str | None:
    """Why `address` must not be connected to, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, hit in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if hit:
            return reason
    return None if address.is_global else "non-public"


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks the address of every request, then sends it to that address through `inner`."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        resolver: Resolver = resolve,
        refuse: Callable[[IPAddress], str | None] = forbidden_reason,
    ) -> None:
        self._inner = inner
        self._resolve = resolver
        self._refuse = refuse

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.raw_host.decode("ascii")  # IDNA-encoded, brackets of IPv6 stripped
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = await self._resolve(host, port)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from exc
        for address in addresses:
            # A scoped IPv6 address ("fe80::1%eth0") is link-local; the zone is not an address.
            reason = self._refuse(ipaddress.ip_address(address.split("%", 1)[0]))
            if reason is not None:
                shown = host if host == address else f"{host} ({address})"
                article = "an" if reason[0] in "aeiou" else "a"
                raise ForbiddenAddress(
                    f"refused to fetch {url}: {shown} is {article} {reason} address; outgoing HTTP"
                    " to loopback, private, link-local, multicast and reserved addresses is off"
                    " (HTTP_ALLOW_PRIVATE=true allows it)"
                )
        # The request as sent: to the checked address, under its own name. The client keeps the
        # original, so a relative redirect resolves against the name and is checked again.
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=addresses[0]),
            headers=request.headers,  # Host: the name, set when the request was built
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        return await self._inner.handle_async_request(pinned)

    async def aclose(self) -> None:
        await self._inner.aclose()


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    """The client a process's tasks use (core/resources.py builds one per process)."""
    if settings.http_allow_private:
        return httpx.AsyncClient(timeout=settings.http_timeout_seconds, follow_redirects=True)
    # No keep-alive: httpcore pools connections by address, so a kept connection, verified
    # for one name, would be reused for another name served from the same address. And no
    # proxy from the environment: the proxy's address is not the one checked.
    inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
    return httpx.AsyncClient(
        transport=GuardedTransport(inner),
        timeout=settings.http_timeout_seconds,
        follow_redirects=True,
        trust_env=False,
    )
