"""ICS addresses as read-only busy sources (Apple Calendar, Fastmail, a Google "secret address", …).

The address is polled: fetched with httpx (conditional GET with the last ETag), parsed with
``icalendar``, its series expanded with ``dateutil.rrule`` over the mirrored window, and the
result replaces the calendar's mirror in one transaction (``mirror_apply``). The server fetches a
URL a user typed, so every hop is checked against private, loopback and link-local addresses at
fetch time and the connection is pinned to the checked address (no DNS rebinding between the check
and the connect). A failing address never raises into its callers: it is retried after a
temporary failure and marked "needs reconnecting" after a permanent one."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import socket
import time as clock
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from dateutil.rrule import rrulestr
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from icalendar import Calendar, vRecur

from calendars.models import CalendarConnection, ExternalCalendar, Provider
from calendars.providers.base import TIMEOUT_SECONDS, ProviderError, RemoteEvent, SyncResult, retry_after_of
from calendars.sync import (
    HORIZON_MARGIN,
    RETRY_MAX,
    RETRY_MIN,
    mirror_apply,
    needs_reconnect,
    sync_schedule,
    window_for,
)
from core.exceptions import InvalidInput

logger = logging.getLogger(__name__)

ICS_CALENDAR_ID = "ics"
MAX_URL_LENGTH = 2000
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 3
# A slow server that drips bytes still gets cut off: the whole download has this long.
DOWNLOAD_DEADLINE_SECONDS = 2 * TIMEOUT_SECONDS
# Expansion limits: a hostile or broken feed (FREQ=SECONDLY since 1970) must not hold a worker.
MAX_OCCURRENCES_PER_SERIES = 5000
MAX_RRULE_STEPS = 2_000_000
# An address failing "temporarily" for this long needs the consultant after all.
STALE_AFTER = timedelta(days=2)
USER_AGENT = "Consultio calendar sync (+ICS busy times)"
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# A call's UID in a consultant's own feed ("<call>-host@<site domain>"). Only this site's are its
# own calls (which already block their time); another site's calls are real busy time here.
FEED_UID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-host@(?P<domain>.+)$")


def _own_domains() -> frozenset[str]:
    from django.db import connection

    from tenants.models import Domain

    return frozenset(Domain.objects.filter(tenant__schema_name=connection.schema_name)
                     .values_list("domain", flat=True))
RRULE_KEYS = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY",
              "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")


class NotACalendar(ProviderError):
    """The address answered, but not with an iCalendar file."""


class AddressRefused(ProviderError):
    """The address (or a redirect) leads to a network the server must not reach."""


# --- The address ------------------------------------------------------------------------------------


def ics_url_clean(url: str) -> str:
    """The address as it will be fetched: ``webcal://`` becomes https, only http(s) with a host."""
    url = (url or "").strip()
    if not url:
        raise InvalidInput("Give the calendar's ICS address.", field="url")
    if any(char.isspace() for char in url):
        raise InvalidInput("An ICS address has no spaces in it: copy the whole link again.", field="url")
    lowered = url.lower()
    for prefix in ("webcals://", "webcal://"):
        if lowered.startswith(prefix):
            url = "https://" + url[len(prefix):]
            break
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"This address is too long (at most {MAX_URL_LENGTH} characters).", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise InvalidInput("This is not a valid web address.", field="url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("The address must start with https://, http:// or webcal://.", field="url")
    if not parts.hostname:
        raise InvalidInput("The address has no server name in it.", field="url")
    return url


def _allow_private() -> bool:
    return bool(settings.CALENDAR_ICS_ALLOW_PRIVATE)


def address_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the server may connect to ``ip``: globally routable unicast only (no loopback,
    private, link-local — cloud metadata lives there —, shared, reserved or multicast)."""
    mapped = getattr(ip, "ipv4_mapped", None) or getattr(ip, "sixtofour", None)
    if mapped is not None and not address_public(mapped):
        return False
    return ip.is_global and not ip.is_multicast and not ip.is_unspecified


def _addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to, every one of them checked (one bad answer refuses them all)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ProviderError(f"No server named “{host}” can be found.", temporary=True) from exc
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    if not _allow_private():
        for address in addresses:
            if not address_public(ipaddress.ip_address(address)):
                raise AddressRefused("This address leads to a private network; only calendars published on "
                                     "the internet can be added.")
    return addresses


# --- Fetching ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """The body (None: not modified since ``validator``) and what to send next time."""

    body: bytes | None
    validator: str


def _conditional(validator: str) -> dict[str, str]:
    if validator.startswith("lm:"):
        return {"If-Modified-Since": validator[3:]}
    return {"If-None-Match": validator} if validator else {}


def _status_failure(response: httpx.Response) -> ProviderError:
    status = response.status_code
    if status in (404, 410):
        return ProviderError(f"Nothing was found at this address (HTTP {status}): the calendar was "
                             "unpublished or the link changed.", status=status)
    if status in (401, 403):
        return ProviderError(f"The calendar server refused access (HTTP {status}): use the calendar's public "
                             "or secret address.", status=status)
    if status == 429 or status >= 500:
        return ProviderError(f"The calendar server is not answering properly right now (HTTP {status}).",
                             temporary=True, retry_after=retry_after_of(response), status=status)
    return ProviderError(f"The calendar server refused the request (HTTP {status}).", status=status)


def _get_once(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
    """One hop, connected to a checked address with the original host name (Host, TLS SNI and
    certificate check)."""
    target = httpx.URL(url)
    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    addresses = _addresses(host, port)
    default_port = target.port is None
    host_header = host if default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if default_port else f"[{host}]:{port}"
    last: httpx.HTTPError | None = None
    for address in addresses[:3]:
        pinned = target.copy_with(host=address)
        try:
            with client.stream("GET", pinned, headers={**headers, "Host": host_header},
                               extensions={"sni_hostname": host}) as response:
                if response.status_code != 200:
                    return response, b""
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                    raise NotACalendar("The calendar file is larger than 10 MB.")
                deadline = clock.monotonic() + DOWNLOAD_DEADLINE_SECONDS
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise NotACalendar("The calendar file is larger than 10 MB.")
                    if clock.monotonic() > deadline:
                        raise ProviderError("The calendar server is too slow to answer.", temporary=True)
                    chunks.append(chunk)
                return response, b"".join(chunks)
        except httpx.ConnectError as exc:
            last = exc  # try the next address of the name
        except httpx.HTTPError as exc:
            logger.info("ICS address %s failed: %s", host, exc)
            raise ProviderError("The calendar server cannot be reached right now.", temporary=True) from exc
    logger.info("ICS address %s unreachable: %s", host, last)
    raise ProviderError("The calendar server cannot be reached (the connection failed).", temporary=True)


def ics_fetch(url: str, *, validator: str = "") -> Fetched:
    """GET ``url`` (redirects followed by hand, each hop checked); raises ProviderError."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5", **_conditional(validator)}
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            response, body = _get_once(client, url, headers)
            if response.status_code in REDIRECT_STATUSES:
                location = response.headers.get("Location", "")
                if not location:
                    raise ProviderError("The calendar server redirected nowhere.", status=response.status_code)
                try:
                    url = ics_url_clean(urljoin(url, location))
                except InvalidInput as exc:
                    raise AddressRefused(f"The calendar server redirected to an unusable address: {exc.message}",
                                         status=response.status_code) from None
                continue
            if response.status_code == 304 and validator:
                return Fetched(body=None, validator=response.headers.get("ETag") or validator)
            if response.status_code != 200:
                raise _status_failure(response)
            etag = response.headers.get("ETag", "")
            modified = response.headers.get("Last-Modified", "")
            return Fetched(body=body, validator=(etag or (f"lm:{modified}" if modified else ""))[:300])
    raise ProviderError(f"The calendar server redirected more than {MAX_REDIRECTS} times.")


# --- Reading the calendar ---------------------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass
class Feed:
    name: str
    time_zone: str
    events: list[RemoteEvent] = field(default_factory=list)


@dataclass
class _Budget:
    steps: int = MAX_RRULE_STEPS

    def spend(self) -> bool:
        self.steps -= 1
        return self.steps >= 0


def _value(component, name: str):
    prop = component.get(name)
    if isinstance(prop, list):
        prop = prop[0] if prop else None
    return getattr(prop, "dt", None)


def _all(component, name: str) -> list:
    prop = component.get(name)
    if prop is None:
        return []
    return prop if isinstance(prop, list) else [prop]


def _is_date(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


class _Reader:
    """Turns one VCALENDAR into mirror events within ``window``; ``zone`` places dates and
    floating times (the calendar's own zone, else the consultant's)."""

    def __init__(self, zone: ZoneInfo, window: tuple[datetime, datetime]) -> None:
        self.zone = zone
        self.window = window
        self.budget = _Budget()

    def aware(self, value: datetime) -> datetime:
        return value.replace(tzinfo=self.zone) if value.tzinfo is None else value

    def key(self, value) -> str:
        """How an occurrence is named: its start, in UTC for times, as a date for whole days."""
        if isinstance(value, datetime):
            return self.aware(value).astimezone(UTC).isoformat()
        return value.isoformat()

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)

    def length(self, component, start) -> timedelta | None:
        """The event's length; None when it has none (a timed event without end or duration)."""
        end = _value(component, "DTEND")
        duration = _value(component, "DURATION")
        if _is_date(start):
            if _is_date(end):
                days = (end - start).days
            elif isinstance(duration, timedelta):
                days = duration.days
            else:
                days = 1
            return timedelta(days=max(days, 1))
        if isinstance(end, datetime):
            return self.aware(end).astimezone(UTC) - self.aware(start).astimezone(UTC)
        if _is_date(end):
            return self.midnight(end) - self.aware(start).astimezone(UTC)
        if isinstance(duration, timedelta):
            return duration
        return None

    def span(self, start, length: timedelta) -> tuple[datetime, datetime, bool]:
        if _is_date(start):
            return self.midnight(start), self.midnight(start + length), True
        begin = self.aware(start).astimezone(UTC)
        return begin, begin + length, False

    @staticmethod
    def flags(component) -> tuple[str, str] | None:
        """(transparency, status), or None for a cancelled event."""
        status = str(component.get("STATUS", "")).strip().upper()
        if status == "CANCELLED":
            return None
        transparency = "transparent" if str(component.get("TRANSP", "")).strip().upper() == "TRANSPARENT" \
            else "opaque"
        return transparency, "tentative" if status == "TENTATIVE" else "confirmed"

    def event(self, event_id: str, component, start, length: timedelta, ours: bool) -> RemoteEvent | None:
        flags = self.flags(component)
        if flags is None or length <= timedelta(0):
            return None
        begin, end, all_day = self.span(start, length)
        return RemoteEvent(id=event_id, start=begin, end=end, all_day=all_day, transparency=flags[0],
                           status=flags[1], ours=ours)

    # Series ------------------------------------------------------------------------------------

    def _rule_text(self, rule, tz, all_day: bool) -> str:
        """The RRULE for dateutil over naive wall-clock times (UNTIL converted to the same)."""
        kept = vRecur({key: value for key, value in rule.items() if key in RRULE_KEYS})
        until = (kept.get("UNTIL") or [None])[0]
        if until is not None:
            kept.pop("COUNT", None)
            if isinstance(until, datetime):
                wall = until.astimezone(tz).replace(tzinfo=None) if until.tzinfo else until
            else:
                wall = datetime.combine(until, time(0) if all_day else time(23, 59, 59))
            kept["UNTIL"] = [wall]
        return kept.to_ical().decode()

    def occurrences(self, master, start, length: timedelta) -> list:
        """The starts of a series inside the window: DTSTART, RRULE, RDATE, minus EXDATE."""
        all_day = _is_date(start)
        tz = self.zone if all_day or start.tzinfo is None else start.tzinfo
        first = datetime.combine(start, time(0)) if all_day else start.replace(tzinfo=None)

        def wall(moment: datetime) -> datetime:
            return moment.astimezone(tz).replace(tzinfo=None)

        low, high = wall(self.window[0] - length - timedelta(days=1)), wall(self.window[1] + timedelta(days=1))

        def moment(naive: datetime):
            return naive.date() if all_day else naive.replace(tzinfo=tz)

        found: dict[str, object] = {}

        def add(value) -> None:
            found.setdefault(self.key(value), value)

        add(start)
        for rule in _all(master, "RRULE"):
            taken = 0
            try:
                for naive in rrulestr(self._rule_text(rule, tz, all_day), dtstart=first, forceset=True):
                    if not self.budget.spend() or naive > high:
                        break
                    if naive < low:
                        continue
                    add(moment(naive))
                    taken += 1
                    if taken >= MAX_OCCURRENCES_PER_SERIES:
                        break
            except (ValueError, TypeError, KeyError, OverflowError):
                # One unreadable rule loses that rule's repeats, not the whole calendar.
                logger.info("Unreadable RRULE %r skipped", rule)
        for prop in _all(master, "RDATE"):
            for item in getattr(prop, "dts", []):
                value = item.dt
                if isinstance(value, tuple):  # PERIOD: the instance has its own end, kept by the caller
                    value = value[0]
                if isinstance(value, date):
                    add(value)
        excluded_days: set[date] = set()
        for prop in _all(master, "EXDATE"):
            for item in getattr(prop, "dts", []):
                value = item.dt
                found.pop(self.key(value), None)
                if _is_date(value):
                    excluded_days.add(value)
        values = list(found.values())
        if excluded_days and not all_day:
            values = [v for v in values
                      if not isinstance(v, datetime) or self.aware(v).astimezone(tz).date() not in excluded_days]
        return values

    def periods(self, master) -> dict[str, timedelta]:
        """RDATE periods carry their own length."""
        lengths: dict[str, timedelta] = {}
        for prop in _all(master, "RDATE"):
            for item in getattr(prop, "dts", []):
                if isinstance(item.dt, tuple):
                    begin, end = item.dt
                    if isinstance(end, datetime):
                        lengths[self.key(begin)] = self.aware(end) - self.aware(begin)
                    elif isinstance(end, timedelta):
                        lengths[self.key(begin)] = end
        return lengths

    def series(self, uid: str, master, overrides: dict[str, object], ours: bool) -> list[RemoteEvent]:
        events: list[RemoteEvent] = []
        start = _value(master, "DTSTART") if master is not None else None
        recurring = master is not None and (master.get("RRULE") is not None or master.get("RDATE") is not None)
        length = self.length(master, start) if isinstance(start, date) else None
        if master is not None and isinstance(start, date) and length is not None:
            if not recurring:
                event = self.event(uid, master, start, length, ours)
                events += [event] if event else []
            elif self.flags(master) is not None:
                lengths = self.periods(master)
                for value in self.occurrences(master, start, length):
                    key = self.key(value)
                    if key in overrides:
                        continue
                    event = self.event(f"{uid}/{key}", master, value, lengths.get(key, length), ours)
                    events += [event] if event else []
        for key, override in overrides.items():
            if master is not None and self.flags(master) is None:
                break  # the whole series is cancelled
            own_start = _value(override, "DTSTART")
            if not isinstance(own_start, date):
                continue
            # An override that only moves the start keeps the series' length.
            own_length = self.length(override, own_start) or length
            if own_length is None:
                continue
            event = self.event(f"{uid}/{key}", override, own_start, own_length, ours)
            events += [event] if event else []
        return events

    def read(self, calendar: Calendar) -> list[RemoteEvent]:
        masters: dict[str, object] = {}
        overrides: dict[str, dict[str, object]] = {}
        for component in calendar.walk("VEVENT"):
            uid = str(component.get("UID", "")).strip()
            if not uid:
                # No UID (broken producers): a name stable as long as the event does not change.
                uid = "no-uid-" + hashlib.sha256(component.to_ical()).hexdigest()[:32]
            recurrence_id = _value(component, "RECURRENCE-ID")
            if isinstance(recurrence_id, date):
                overrides.setdefault(uid, {})[self.key(recurrence_id)] = component
            else:
                masters.setdefault(uid, component)
        events: dict[str, RemoteEvent] = {}
        broken = 0
        uids = list(masters) + [uid for uid in overrides if uid not in masters]
        own = _own_domains() if any(FEED_UID.match(uid) for uid in uids) else frozenset()
        for uid in uids:
            feed_uid = FEED_UID.match(uid)
            try:
                series = self.series(uid, masters.get(uid), overrides.get(uid, {}),
                                     bool(feed_uid and feed_uid["domain"].lower() in own))
            except Exception as exc:  # noqa: BLE001 - one broken event must not hide the others
                broken += 1
                logger.info("Unreadable ICS event %r skipped: %r", uid[:200], exc)
                continue
            for event in series:
                events[event.id] = event
        if uids and broken == len(uids):
            raise NotACalendar("The calendar file at this address cannot be read: none of its events is valid.")
        return list(events.values())


def ics_parse(body: bytes, *, default_zone: str, window: tuple[datetime, datetime]) -> Feed:
    """The calendar's name, zone and its events inside ``window``; raises NotACalendar."""
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        raise NotACalendar("This address does not serve a calendar (an .ics file): check that you copied the "
                           "calendar's ICS or webcal link.")
    try:
        # Some servers concatenate several VCALENDARs: the first names the feed, all give events.
        calendars = Calendar.from_ical(text, multiple=True)
        first = calendars[0]
        name = str(first.get("X-WR-CALNAME", "") or first.get("NAME", "")).strip()
        declared = _zone(first.get("X-WR-TIMEZONE"))
        zone = declared or _zone(default_zone) or ZoneInfo("UTC")
        reader = _Reader(zone, window)
        events = [event for calendar in calendars for event in reader.read(calendar)]
    except NotACalendar:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the parser trips on, the feed is unreadable
        logger.info("Unreadable ICS feed: %r", exc)
        raise NotACalendar("The calendar file at this address cannot be read.") from exc
    return Feed(name=name[:300], time_zone=zone.key, events=events)


# --- Connections ------------------------------------------------------------------------------------


def _consultant_zone(consultant) -> str:
    profile = getattr(consultant, "profile", None)
    return getattr(profile, "time_zone", "") or "UTC"


def _set(conn: CalendarConnection, **fields) -> None:
    CalendarConnection.objects.filter(pk=conn.pk).update(**fields)
    for name, value in fields.items():
        setattr(conn, name, value)


def _poll_at(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.CALENDAR_ICS_POLL_SECONDS)


def _retry_at(conn: CalendarConnection, exc: ProviderError, now: datetime) -> datetime:
    if exc.retry_after:
        return now + timedelta(seconds=exc.retry_after)
    # Back off from the last success: 30 s, then growing, at most an hour.
    since = now - (conn.last_synced_at or now)
    return now + min(max(RETRY_MIN, since / 4), RETRY_MAX)


def _stale(conn: CalendarConnection, now: datetime) -> bool:
    """Retrying for days is no longer "temporary": the consultant is told rather than left with
    busy times that silently stopped updating."""
    return conn.last_synced_at is not None and now - conn.last_synced_at > STALE_AFTER


def _window(consultant_id: int, now: datetime) -> tuple[tuple[datetime, datetime], datetime]:
    """The window mirrored by a full pass, and how far the mirror must reach now."""
    wanted = window_for(consultant_id, now)
    return (wanted[0], wanted[1] + HORIZON_MARGIN), wanted[1]


def _apply(calendar: ExternalCalendar, feed: Feed, *, window: tuple[datetime, datetime], now: datetime) -> None:
    mirror_apply(calendar, SyncResult(events=feed.events, full=True, next_token=""), window=window, now=now)
    changes = {"time_zone": feed.time_zone} | ({"name": feed.name} if feed.name else {})
    if any(getattr(calendar, key) != value for key, value in changes.items()):
        ExternalCalendar.objects.filter(pk=calendar.pk).update(**changes)
        for key, value in changes.items():
            setattr(calendar, key, value)


def _download(url: str, *, consultant, now: datetime, validator: str = "") -> tuple[Fetched, Feed | None]:
    """Fetch and read, for the consultant's window (no feed: not modified); ProviderError on any
    failure."""
    window, _ = _window(consultant.pk, now)
    fetched = ics_fetch(url, validator=validator)
    if fetched.body is None:
        return fetched, None
    return fetched, ics_parse(fetched.body, default_zone=_consultant_zone(consultant), window=window)


def _refusal(exc: ProviderError) -> InvalidInput:
    message = exc.message
    if exc.temporary:
        message = f"{message} Try again in a few minutes."
    return InvalidInput(f"This calendar cannot be added. {message}", field="url", code="ics_unusable")


def ics_connection_add(*, consultant, url: str, now: datetime | None = None) -> CalendarConnection:
    """Add an ICS address as a busy source, fetched once at once so that a wrong, unreachable or
    refused address is reported to the consultant now, with nothing created.

    The same address again returns its connection; if that one needed reconnecting, the fetch
    decides whether it works again."""
    from calendars.services import consultant_check

    consultant_check(consultant)
    now = now or timezone.now()
    url = ics_url_clean(url)
    existing = CalendarConnection.objects.filter(consultant=consultant, provider=Provider.ICS, ics_url=url).first()
    if existing is not None and existing.status == CalendarConnection.Status.ACTIVE:
        return existing
    try:
        fetched, feed = _download(url, consultant=consultant, now=now)
        if feed is None:  # a 304 to a request without a validator: a confused server
            raise NotACalendar("The calendar server answered without a calendar.")
    except ProviderError as exc:
        logger.info("ICS address refused for consultant %s: %s", consultant.pk, exc.message)
        raise _refusal(exc) from None
    window, _ = _window(consultant.pk, now)
    host = urlsplit(url).hostname or url
    with transaction.atomic():
        if existing is None:
            try:
                with transaction.atomic():
                    conn = CalendarConnection.objects.create(
                        consultant=consultant, provider=Provider.ICS, ics_url=url, account_email="",
                        status=CalendarConnection.Status.ACTIVE, next_sync_at=now)
            except IntegrityError:  # added at the same moment by another request
                return CalendarConnection.objects.get(consultant=consultant, provider=Provider.ICS, ics_url=url)
        else:
            conn = existing
            _set(conn, status=CalendarConnection.Status.ACTIVE, failure_notified_at=None)
        calendar, _ = ExternalCalendar.objects.get_or_create(
            connection=conn, provider_calendar_id=ICS_CALENDAR_ID,
            defaults={"consultant": consultant, "name": (feed.name or host)[:300], "readable": True,
                      "writable": False, "can_write": False, "primary": True, "time_zone": feed.time_zone})
        _apply(calendar, feed, window=window, now=now)
        next_at = _poll_at(now)
        _set(conn, last_synced_at=now, failure_reason="", ics_etag=fetched.validator, next_sync_at=next_at)
        sync_schedule(next_at)
    logger.info("Consultant %s added ICS calendar %s (%d events)", consultant.pk, conn.pk, len(feed.events))
    return conn


def ics_sync(conn: CalendarConnection, *, now: datetime) -> str:
    """Poll one ICS address: "synced", "retry" (temporary failure, rescheduled), "needs_reconnect"
    (the address stopped serving a calendar; the consultant is told once) or "skipped".

    Never raises for the address's problems: the booking page reads the mirror, not this."""
    if conn.status != CalendarConnection.Status.ACTIVE:
        return "skipped"
    consultant = conn.consultant
    calendar = conn.calendars.filter(provider_calendar_id=ICS_CALENDAR_ID).first()
    if calendar is None:
        calendar = ExternalCalendar.objects.create(
            connection=conn, consultant_id=conn.consultant_id, provider_calendar_id=ICS_CALENDAR_ID,
            name=(urlsplit(conn.ics_url).hostname or conn.ics_url)[:300], readable=True, writable=False,
            can_write=False, primary=True)
    if not calendar.readable:
        # Nothing to mirror; polled again later in case it is made readable (that syncs at once).
        next_at = _poll_at(now)
        _set(conn, next_sync_at=next_at)
        sync_schedule(next_at)
        return "skipped"
    window, reach = _window(conn.consultant_id, now)
    # A mirror that no longer reaches the horizon needs the whole file, changed or not.
    current = calendar.mirrored_until is not None and calendar.mirrored_until >= reach
    try:
        fetched, feed = _download(conn.ics_url, consultant=consultant, now=now,
                                  validator=conn.ics_etag if current else "")
    except ProviderError as exc:
        if exc.temporary and not _stale(conn, now):
            when = _retry_at(conn, exc, now)
            logger.warning("ICS connection %s failed (%s); next try at %s", conn.pk, exc.message, when)
            _set(conn, next_sync_at=when, failure_reason=exc.message[:300])
            sync_schedule(when)
            return "retry"
        reason = exc.message if not exc.temporary else (
            f"The address has not worked for {STALE_AFTER.days} days. Last problem: {exc.message}")
        needs_reconnect(conn, reason)
        return "needs_reconnect"
    if feed is not None:
        _apply(calendar, feed, window=window, now=now)
    next_at = _poll_at(now)
    _set(conn, last_synced_at=now, failure_reason="", ics_etag=fetched.validator, next_sync_at=next_at)
    sync_schedule(next_at)
    return "synced"
