"""What counts as "this machine" for the sandbox: bind addresses, Host/Origin headers, clients.

One rule everywhere: ``localhost``, any IPv4 address in 127.0.0.0/8, or ``::1``. IPv6 scope ids
(``::1%lo``) and IPv4-mapped forms are refused, because they make URLs that clients cannot use.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOCALHOST = "localhost"


def is_loopback(address: str | None) -> bool:
    """Whether a client's socket address is this machine (any form the OS reports)."""
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` names a loopback address the sandbox may bind or be addressed by."""
    if host is None:
        return False
    if host.lower() == LOCALHOST:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name other than localhost, or a scoped IPv6 address
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return address == ipaddress.IPv6Address("::1") and address.scope_id is None
    return address.is_loopback


def is_loopback_authority(value: str) -> bool:
    """Whether a ``Host`` header value (``host``, ``host:port``, ``[::1]:port``) is loopback."""
    if not value or "@" in value or "/" in value:
        return False
    return is_loopback_host(urlsplit(f"//{value}").hostname)


def is_loopback_origin(value: str) -> bool:
    """Whether an ``Origin`` header names a page served from this machine."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and is_loopback_authority(parts.netloc)
