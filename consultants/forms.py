from django import forms

from consultants.models import Profile
from core.choices import currency_choices, language_choices, time_zone_choices


class ProfileForm(forms.Form):
    full_name = forms.CharField(label="Name", max_length=150)
    slug = forms.CharField(label="Page address", max_length=60,
                           help_text="Your public page is /c/<address>/ on this site.")
    headline = forms.CharField(max_length=160, required=False,
                               help_text="One line under your name, e.g. “Tax adviser for freelancers”.")
    description = forms.CharField(label="Services", widget=forms.Textarea(attrs={"rows": 5}), required=False,
                                  max_length=5000)
    experience = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000)
    languages = forms.MultipleChoiceField(choices=language_choices, required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 8}))
    time_zone = forms.ChoiceField(choices=time_zone_choices)
    time_format = forms.ChoiceField(choices=Profile.TimeFormat.choices, widget=forms.RadioSelect)
    currency = forms.ChoiceField(choices=currency_choices)

    error_messages_override = {
        "time_zone": "is not a known time zone.",
        "currency": "is not an ISO 4217 currency code.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].error_messages["invalid_choice"] = "“%(value)s” is not a known time zone."
        self.fields["currency"].error_messages["invalid_choice"] = "“%(value)s” is not an ISO 4217 currency code."
        self.fields["languages"].error_messages["invalid_choice"] = "Unknown language code: %(value)s."


class PhotoForm(forms.Form):
    photo = forms.FileField(widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))


class CertificateForm(forms.Form):
    title = forms.CharField(max_length=160)
    file = forms.FileField(widget=forms.ClearableFileInput(
        attrs={"accept": "application/pdf,image/jpeg,image/png,image/webp"}))
