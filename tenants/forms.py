from django import forms
from django.core.exceptions import ValidationError

from tenants.models import Plan
from tenants.validators import SLUG_MAX_LENGTH


class SignupForm(forms.Form):
    name = forms.CharField(label="Business name", max_length=120)
    slug = forms.CharField(
        label="Subdomain", max_length=SLUG_MAX_LENGTH + 20, strip=True,
        help_text="Lowercase letters, digits and hyphens; 3–40 characters.",
    )
    owner_name = forms.CharField(label="Your name", max_length=150)
    owner_email = forms.EmailField(label="Email")
    owner_password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    # Filled in by the browser (static/js/timezone.js); the owner can change it in their profile.
    owner_time_zone = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def apply_errors(self, error: ValidationError) -> None:
        """Attach a service's field errors to this form."""
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class ConsoleTenantForm(SignupForm):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), required=False, empty_label="Default plan")


class SuspendForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class PlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), empty_label=None)
