"""The client's IP address, as far as the trusted proxies vouch for it."""

from __future__ import annotations

import ipaddress


def get_client_ip(
    remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int
) -> str:
    """The address of the client, counted `trusted_proxies` hops from the right.

    Each trusted proxy appends the address it received the request from, so
    only the last `trusted_proxies` entries of X-Forwarded-For are believed;
    anything to their left was written by the client and may be forged. With
    no trusted proxy, or fewer entries than hops, the connection's address wins.
    """
    fallback = remote_addr or ""
    if trusted_proxies <= 0 or not forwarded_for:
        return fallback
    hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
    if len(hops) < trusted_proxies:
        return fallback
    candidate = hops[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return fallback


def ip_in_network(ip: str, network: str) -> bool:
    """True when `ip` is `network` (an address or a CIDR range) or inside it."""
    try:
        address = ipaddress.ip_address(ip)
        return address in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False
