"""One client: its address (from X-Forwarded-For only when the peer is a trusted
proxy) and User-Agent, and the salted hash that is all the statistics keep of it.

The peer address is judged once per distinct peer (a handful of proxies in
practice) and the answer kept in a bounded dict, so a request costs a lookup.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks; raises ValueError naming a bad one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


class ClientAddress:
    """The address a request came from, as far as it can be trusted."""

    MAX_PEERS = 4096

    def __init__(self, trusted: Iterable[str] = ()) -> None:
        self.networks = parse_networks(trusted)
        self._peers: dict[str, bool] = {}
        self._resolved: dict[tuple[str, bytes], str] = {}  # the same client behind the same proxy: one lookup

    def is_trusted(self, address: str) -> bool:
        known = self._peers.get(address)
        if known is None:
            known = self._judge(address)
            if len(self._peers) >= self.MAX_PEERS:
                self._peers.clear()
            self._peers[address] = known
        return known

    def _judge(self, address: str) -> bool:
        if not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def resolve_header(self, peer: str, forwarded_for: bytes) -> str:
        """`resolve` for the raw header, remembered for the clients seen last (bounded)."""
        key = (peer, forwarded_for)
        address = self._resolved.get(key)
        if address is None:
            address = self.resolve(peer, forwarded_for.decode("latin-1"))
            if len(self._resolved) >= self.MAX_PEERS * 4:
                self._resolved.clear()
            self._resolved[key] = address
        return address

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: the peer, or behind trusted proxies the rightmost
        X-Forwarded-For entry that is not itself a trusted proxy (entries to its
        left were written by the client and can be forged)."""
        if forwarded_for is None or not self.networks or not self.is_trusted(peer):
            return peer
        for hop in reversed(forwarded_for.split(",")):
            address = hop.strip()
            if address and not self.is_trusted(address):
                return address[:64]
        return peer


def client_hash(salt: bytes, address: str, user_agent: str) -> str:
    """What is kept of a client: no raw address, and unlinkable once the salt is gone."""
    digest = hashlib.blake2b(f"{address}\0{user_agent}".encode(errors="replace"), key=salt[:64], digest_size=16)
    return digest.hexdigest()
