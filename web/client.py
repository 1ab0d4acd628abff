"""Which client a request comes from: the connecting address, or, behind trusted reverse proxies, the
right-most address of X-Forwarded-For that is not one of them (the left part of the header is whatever the
client chose to send, so it is never believed)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network

Networks = Sequence[IPv4Network | IPv6Network]


def _trusted(address: str, networks: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Networks) -> str:
    """The client's address: `peer` unless it is a trusted proxy; then, walking X-Forwarded-For (every header,
    in order) from the right, the first address that is not a trusted proxy (or the left-most, when all are); a
    hop that is not an IP address ends the walk at the address before it (the nearest proxy's word)."""
    address = peer or ""
    if not trusted or not _trusted(address, trusted):
        return address
    hops = [part.strip() for header in forwarded_for for part in header.split(",") if part.strip()]
    for hop in reversed(hops):
        try:
            hop = str(ipaddress.ip_address(hop))
        except ValueError:  # not an address (garbage, or bytes that are not text): the last proxy's view stands
            return address
        address = hop
        if not _trusted(hop, trusted):
            return hop
    return address
