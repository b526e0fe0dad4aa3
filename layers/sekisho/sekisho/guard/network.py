"""The client network a lockout may be counted in: a value locked in one network stays
usable in every other.

IPv4 addresses count by their /24, IPv6 by their /48 (what one site or subscriber is
commonly given; a /64 would let one subscriber rotate through 65,536 of them). An IPv6
address that carries an IPv4 one (``::ffff:203.0.113.7``) counts as that IPv4 address.
"""

from __future__ import annotations

import ipaddress

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def client_network(client_ip: str) -> str:
    """The network ``client_ip`` belongs to, as CIDR text; the text itself when it is not
    an address (API Gateway always gives one; a caller that cannot is counted alone)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
