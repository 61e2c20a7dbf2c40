from django import forms

from core.choices import time_zone_choices


class BookingForm(forms.Form):
    start = forms.CharField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label="Your name", max_length=150)
    email = forms.EmailField(label="Email")
    message = forms.CharField(label="Anything the consultant should know?", required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    seats = forms.IntegerField(min_value=1, max_value=100, initial=1, required=False)
    time_zone = forms.ChoiceField(choices=time_zone_choices, widget=forms.HiddenInput)
    time_format = forms.ChoiceField(choices=[("24h", "24-hour"), ("12h", "12-hour")], initial="24h",
                                    widget=forms.HiddenInput, required=False)
    # One per page shown: the same form sent twice (a double click) makes one booking.
    submit_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class CancelForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class RescheduleForm(forms.Form):
    start = forms.CharField()
