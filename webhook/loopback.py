"""Whether a request or a bind address stays on this machine.

``SHEETS_SYNC_AUTH=disabled`` admits loopback peers only (:mod:`webhook.auth`): the
peer is the address the WSGI server saw, never a header, and a request a proxy
says it forwarded is not local whatever its peer.
"""

from __future__ import annotations

import ipaddress

from flask import request

FORWARDED_HEADERS = ("X-Forwarded-For", "Forwarded")


def local_request() -> bool:
    """Whether the request being served comes from this machine, by its peer address.

    ``request.remote_addr`` is the socket's peer as the WSGI server saw it, not a
    header. A request carrying a proxy's forwarding header is not local either:
    the proxy is the peer, and the caller is somewhere else.
    """
    if any(name in request.headers for name in FORWARDED_HEADERS):
        return False
    return peer_is_loopback(request.remote_addr)


def peer_is_loopback(address: str | None) -> bool:
    """Whether a peer address is loopback: 127.0.0.0/8, ::1 or ::ffff:127.x; a name is not."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
