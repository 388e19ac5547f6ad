"""Host name resolution for webhook targets (the `Resolver` port), with a time limit."""

from __future__ import annotations

import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from typing import Any

from leadhub.outbound.ports import UnresolvableHost

GetAddrInfo = Callable[..., list[tuple[Any, ...]]]


@cache
def _lookup_pool() -> ThreadPoolExecutor:
    # getaddrinfo has no timeout of its own; a look-up that outlives ours finishes in the background.
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="leadhub-dns")


class SystemResolver:
    """The system resolver (getaddrinfo), both address families, deduplicated, IPv4 first: Lambda
    functions outside a dual-stack VPC have no IPv6 egress."""

    def __init__(self, timeout_s: float = 5.0, getaddrinfo: GetAddrInfo = socket.getaddrinfo) -> None:
        self._timeout_s = timeout_s
        self._getaddrinfo = getaddrinfo

    def resolve(self, host: str, port: int) -> list[str]:
        future = _lookup_pool().submit(
            self._getaddrinfo, host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
        try:
            answers = future.result(timeout=self._timeout_s)
        except FutureTimeout:
            future.cancel()
            raise UnresolvableHost(f"resolving {host} timed out") from None
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            raise UnresolvableHost(f"{host} could not be resolved") from exc
        ipv4 = [str(a[4][0]) for a in answers if a[0] == socket.AF_INET]
        ipv6 = [str(a[4][0]) for a in answers if a[0] == socket.AF_INET6]
        addresses = list(dict.fromkeys(ipv4 + ipv6))
        if not addresses:
            raise UnresolvableHost(f"{host} has no addresses")
        return addresses
