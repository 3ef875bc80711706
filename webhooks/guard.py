"""The SSRF guard: a webhook may only reach public addresses, unless an operator names the host.

Checked twice: when staff save an endpoint (a 400 naming `url`) and again before every POST,
on the address actually connected to, so a name that later resolves to 127.0.0.1 (DNS
rebinding) is refused at delivery time too.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class Refused(Exception):
    """The URL may not be called; the message says why (shown to staff)."""


@dataclass(frozen=True)
class Target:
    """Where to connect: the checked address, plus what the request must still carry."""

    scheme: str
    host: str  # as written in the URL: the Host header and the TLS server name
    address: str  # the resolved and checked IP address
    port: int
    path: str  # path and query string

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def allowed_hosts() -> set[str]:
    hosts = getattr(settings, "WEBHOOK_ALLOWED_HOSTS", []) or []
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    return {h.strip().lower().strip("[]") for h in hosts if h.strip()}


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(_("This URL is not valid.")) from exc
    if parts.scheme not in ("http", "https"):
        raise Refused(_("Only http and https URLs are allowed."))
    if not parts.hostname:
        raise Refused(_("This URL has no host."))
    if parts.username or parts.password:
        raise Refused(_("Credentials in the URL are not allowed; use the secret."))
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname.lower(), port, path


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(_("The host %(host)s does not resolve.") % {"host": host}) from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(url: str, *, resolved: dict | None = None) -> Target:
    """The address to connect to for ``url``, or Refused. Every address the name resolves to
    must be public (an attacker could otherwise race the choice), unless the host is allowed.

    ``resolved`` memoises lookups for one batch of deliveries.
    """
    scheme, host, port, path = _split(url)
    key = (host, port)
    if resolved is not None and key in resolved:
        addresses = resolved[key]
    else:
        addresses = _addresses(host, port)
        if resolved is not None:
            resolved[key] = addresses
    if host not in allowed_hosts():
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise Refused(
                _(
                    "%(host)s resolves to a private, loopback or otherwise internal address "
                    "(%(address)s); name it in WEBHOOK_ALLOWED_HOSTS to allow it."
                )
                % {"host": host, "address": private[0]}
            )
    return Target(scheme, host, addresses[0], port, path)


def check_url(url: str) -> None:
    """Raise Refused unless ``url`` may be saved as an endpoint."""
    resolve(url)
