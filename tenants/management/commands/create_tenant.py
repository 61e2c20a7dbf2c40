from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Plan
from tenants.services import tenant_provision


class Command(BaseCommand):
    help = "Create a tenant with its schema, subdomain and owner account; prints its URL."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Subdomain, e.g. acme for acme.<platform domain>.")
        parser.add_argument("--name", required=True, help="Business name.")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", required=True)
        parser.add_argument("--owner-name", default="", help="Defaults to the business name.")
        parser.add_argument("--plan", default="", help="Plan name; the default plan if omitted.")

    def handle(self, *args, **options):
        plan = None
        if options["plan"]:
            plan = Plan.objects.filter(name__iexact=options["plan"]).first()
            if plan is None:
                names = ", ".join(Plan.objects.values_list("name", flat=True))
                raise CommandError(f"Unknown plan {options['plan']!r}. Plans: {names}.")
        try:
            result = tenant_provision(
                slug=options["slug"],
                name=options["name"],
                owner_name=options["owner_name"] or options["name"],
                owner_email=options["owner_email"],
                owner_password=options["owner_password"],
                plan=plan,
                source="cli",
            )
        except ValidationError as exc:
            lines = []
            for field, messages in exc.message_dict.items():
                label = field.replace("owner_", "owner ").replace("_", " ")
                lines.extend(f"{label}: {message}" for message in messages)
            raise CommandError("\n".join(lines)) from None
        self.stdout.write(result.url)
