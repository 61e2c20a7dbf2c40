"""The DNS seam: the TXT records published at a name.

Verification of custom domains asks only ``txt_records``. In production it resolves with dnspython;
with ``DNS_EMULATED`` (``make dev``, tests) it answers from the emulated zone that
``POST /sandbox/dns/txt`` fills on the platform host, so the whole flow runs without a real zone.

"There is no such record" and "DNS could not answer" are kept apart: the first is an empty list
(the owner has something to fix), the second raises ``DNSLookupError`` (nothing to fix, try again).
"""

from __future__ import annotations

from django.conf import settings


class DNSLookupError(Exception):
    """DNS could not be asked right now (timeout, SERVFAIL, no reachable resolver)."""


def txt_records(name: str) -> list[str]:
    """The TXT values at ``name`` (each record's strings joined, as DNS splits long values).

    An unknown name or a name without TXT records gives ``[]``; a resolver that cannot answer
    raises ``DNSLookupError``."""
    name = name.strip().lower().rstrip(".")
    if settings.DNS_EMULATED:
        from sandbox.dns import zone_txt

        return zone_txt(name)
    return _resolve_txt(name)


def _resolver():
    """A resolver with the configured servers and a hard time limit per lookup.

    ``lifetime`` bounds the whole lookup (every server and retry), so a verification request never
    waits longer than ``DNS_TIMEOUT_SECONDS`` on DNS."""
    import dns.nameserver
    import dns.resolver

    servers = settings.DNS_NAMESERVERS
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(address, settings.DNS_PORT) for address in servers]
    resolver.timeout = settings.DNS_TIMEOUT_SECONDS
    resolver.lifetime = settings.DNS_TIMEOUT_SECONDS
    # Caching resolvers keep a "no such name" for a while; a stub cache of our own would only add to it.
    resolver.cache = None
    return resolver


def _resolve_txt(name: str) -> list[str]:
    import dns.exception
    import dns.name
    import dns.resolver

    try:
        answer = _resolver().resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.name.NameTooLong, dns.name.LabelTooLong,
            dns.name.EmptyLabel):
        return []
    except (dns.resolver.NoResolverConfiguration, ValueError) as exc:
        raise DNSLookupError(f"no DNS resolver is configured ({exc})") from exc
    except dns.exception.Timeout as exc:
        raise DNSLookupError("DNS did not answer in time") from exc
    except dns.exception.DNSException as exc:
        # NoNameservers (SERVFAIL, REFUSED, unreachable servers) and anything else dnspython raises.
        raise DNSLookupError(str(exc) or exc.__class__.__name__) from exc
    except OSError as exc:
        raise DNSLookupError(f"DNS could not be reached ({exc})") from exc
    return [b"".join(record.strings).decode("utf-8", errors="replace") for record in answer]
