"""Demo data for local runs: a ``demo`` tenant with an owner, and a platform staff account.
Idempotent: running it again changes nothing."""

from django.core.management.base import BaseCommand
from django.db import connection

from accounts.models import User
from core.urls import host_url
from tenants.models import Plan, Tenant
from tenants.selectors import platform_url, tenant_domain_for
from tenants.services import tenant_provision

DEMO_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.example"
DEMO_OWNER_PASSWORD = "demo-owner-pass"
STAFF_EMAIL = "staff@consultio.example"
STAFF_PASSWORD = "staff-console-pass"


class Command(BaseCommand):
    help = "Seed the demo tenant and a platform staff account (idempotent)."

    def handle(self, *args, **options):
        connection.set_schema_to_public()
        if not Tenant.objects.filter(slug=DEMO_SLUG).exists():
            tenant_provision(
                slug=DEMO_SLUG, name="Demo Consulting", owner_name="Dana Demo",
                owner_email=DEMO_OWNER_EMAIL, owner_password=DEMO_OWNER_PASSWORD, source="seed",
                plan=Plan.objects.filter(name="Agency").first(),  # room to invite consultants
            )
        self._demo_bookable()
        self._demo_brands()
        room = self._demo_call_now()
        if not User.objects.filter(email=STAFF_EMAIL).exists():
            User.objects.create_superuser(
                email=STAFF_EMAIL, password=STAFF_PASSWORD, full_name="Platform Staff",
                role=User.Role.STAFF,
            )
        self.stdout.write(
            f"Demo tenant:   {host_url(tenant_domain_for(DEMO_SLUG))}/login/  "
            f"{DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD}\n"
            f"Staff console: {platform_url()}/console/  {STAFF_EMAIL} / {STAFF_PASSWORD}\n"
            f"Second tenant: {host_url(tenant_domain_for('calm'))}/login/  owner@calm.example / {DEMO_OWNER_PASSWORD}"
        )
        if room:
            self.stdout.write(f"Demo call on now — host (signed in as the owner): {room[0]}\n"
                              f"                  client (a second browser or private window): {room[1]}")

    def _demo_brands(self) -> None:
        """The demo site wears the corporate preset; a second site, "Calm Coaching", the calm
        one — two tenants side by side look like two different businesses."""
        from django_tenants.utils import tenant_context

        from themes.models import Theme
        from themes.services import theme_update

        if not Tenant.objects.filter(slug="calm").exists():
            tenant_provision(slug="calm", name="Calm Coaching", owner_name="Cleo Calm",
                             owner_email="owner@calm.example", owner_password=DEMO_OWNER_PASSWORD, source="seed")
        for slug, preset in ((DEMO_SLUG, "corporate"), ("calm", "calm")):
            tenant = Tenant.objects.get(slug=slug)
            with tenant_context(tenant):
                theme = Theme.objects.first()
                if theme is None or theme.preset == "classic":
                    theme_update({"preset": preset}, tenant=tenant)
        connection.set_schema_to_public()

    def _demo_call_now(self) -> tuple[str, str] | None:
        """A free group call that is on now, with one client booked, so two browser windows can
        meet in its room right away (more people can take the remaining seats on /book/)."""
        from datetime import timedelta

        from django.db import IntegrityError, transaction
        from django.utils import timezone
        from django_tenants.utils import schema_context

        from booking.models import Call, CallParticipant, Offering
        from booking.services import group_call_create, manage_token_assign, manage_token_for
        from core.exceptions import Conflict

        title = "Demo room (open now)"
        now = timezone.now()
        domain = tenant_domain_for(DEMO_SLUG)
        with schema_context(f"t_{DEMO_SLUG}"):
            owner = User.objects.get(email=DEMO_OWNER_EMAIL)
            call = Call.objects.filter(consultant=owner, title=title, status=Call.Status.CONFIRMED,
                                       end_at__gt=now + timedelta(minutes=30)).first()
            if call is None:
                start = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
                try:
                    with transaction.atomic():
                        offering = Offering.objects.create(
                            consultant=owner, kind=Offering.Kind.GROUP, title=title, duration_minutes=120,
                            description="A call that is on now, to try the video room.", price_amount=0,
                            currency="USD", start_at=start, end_at=start + timedelta(hours=2), capacity=5,
                            min_notice_minutes=0)
                        call = group_call_create(offering=offering)
                except (Conflict, IntegrityError):
                    self.stdout.write("Demo call: skipped, the demo owner has a call now.")
                    connection.set_schema_to_public()
                    return None
            # A demo client the host has not removed from the room (trying "Remove" is part of the demo).
            client = call.participants.filter(email__endswith="@client.example").exclude(
                room_removals__call=call).first()
            if client is None:
                n = call.participants.count()
                client = CallParticipant(call=call, status=CallParticipant.Status.CONFIRMED, name="Chris Client",
                                         email=f"chris{n or ''}@client.example", seats=1, unit_price_amount=0,
                                         price_amount=0, currency="USD", time_zone="Europe/Berlin")
                manage_token_assign(client)
                client.save()
            room = f"{host_url(domain)}/calls/{call.public_id}/room/"
            token = manage_token_for(client)
        connection.set_schema_to_public()
        return room, f"{room}?token={token}"

    def _demo_bookable(self) -> None:
        """Weekday hours, a free intro call and a paid session (bookable once payouts are connected)."""
        from django_tenants.utils import schema_context

        from booking.availability import PeriodIn, availability_replace
        from booking.models import Offering
        from booking.offerings import offering_create

        with schema_context(f"t_{DEMO_SLUG}"):
            owner = User.objects.get(email=DEMO_OWNER_EMAIL)
            if Offering.objects.filter(consultant=owner).exists():
                return
            availability_replace(consultant=owner, time_zone="Europe/Kyiv",
                                 weekly=[(day, PeriodIn("09:00", "17:00")) for day in range(5)], overrides=[])
            offering_create(consultant=owner, kind="individual", data={
                "title": "Intro call", "description": "A free first conversation about what you need.",
                "duration_minutes": 30, "price_amount": 0, "currency": "USD", "min_notice_minutes": 120})
            offering_create(consultant=owner, kind="individual", data={
                "title": "Strategy session", "description": "An hour on your plan, with written notes afterwards.",
                "duration_minutes": 60, "price_amount": 8000, "currency": "USD", "min_notice_minutes": 120})
        connection.set_schema_to_public()
