from django.db import migrations
from django.utils.text import slugify


def create_missing_profiles(apps, schema_editor):
    """Owners and consultants created before profiles existed get one, as new ones do."""
    User = apps.get_model("accounts", "User")
    Profile = apps.get_model("consultants", "Profile")
    taken = set(Profile.objects.values_list("slug", flat=True))
    for user in User.objects.filter(role__in=["owner", "consultant"], profile__isnull=True):
        base = slugify(user.full_name)[:50].strip("-") or "consultant"
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        Profile.objects.create(user=user, slug=slug)


class Migration(migrations.Migration):
    dependencies = [("consultants", "0001_initial"), ("accounts", "0002_user_email_verified_at_user_revoked_at_and_more")]

    operations = [migrations.RunPython(create_missing_profiles, migrations.RunPython.noop)]
