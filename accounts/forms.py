from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password

from accounts.models import Invitation, User


class LoginForm(AuthenticationForm):
    remember_me = forms.BooleanField(label="Keep me signed in for 30 days", required=False)

    error_messages = {
        # The same words for an unknown email and a wrong password.
        "invalid_login": "Please enter a correct email and password.",
        "inactive": "Please enter a correct email and password.",
    }


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(choices=Invitation.Role.choices, initial=Invitation.Role.CONSULTANT)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150)
    password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False,
                               help_text="At least 10 characters, not a common or all-numeric password.")
    time_zone = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_password(self) -> str:
        # Checked here too so that every problem shows at once; the service checks again with the name.
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class AssignForm(forms.Form):
    consultants = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consultants"].queryset = User.objects.filter(
            is_active=True, role__in=[User.Role.OWNER, User.Role.CONSULTANT]
        ).order_by("full_name")


class TokenForm(forms.Form):
    name = forms.CharField(label="Token name", max_length=100)


def apply_errors(form: forms.Form, error) -> None:
    """Attach a service's ``ValidationError`` to the form, field by field."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
