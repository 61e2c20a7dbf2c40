from __future__ import annotations

from django import forms

from themes.presets import CORNER_LABELS, MODE_LABELS, font_choices, preset_choices

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"


class ThemeForm(forms.Form):
    """The owner's theme page. Colours are plain text here: ``themes.services`` checks them, so the
    page and the API refuse the same things with the same words."""

    preset = forms.ChoiceField(choices=preset_choices(), help_text="Choosing a preset fills in its colours, font, "
                               "mode and corners; change any of them afterwards.")
    primary_color = forms.CharField(label="Primary colour", max_length=32,
                                    help_text="Buttons and links, as #rrggbb.")
    accent_color = forms.CharField(label="Accent colour", max_length=32,
                                   help_text="Highlights: the selected time, the current tab, charts.")
    font = forms.ChoiceField(choices=font_choices())
    mode = forms.ChoiceField(choices=list(MODE_LABELS.items()), widget=forms.RadioSelect)
    corners = forms.ChoiceField(choices=list(CORNER_LABELS.items()), widget=forms.RadioSelect)
    logo = forms.FileField(required=False, widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
                           help_text="JPEG, PNG or WebP, up to 10 MB. Shown in the top bar and in emails.")
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    favicon = forms.FileField(required=False, widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
                              help_text="The small icon in browser tabs: a square PNG of 64 × 64 px or more works "
                                        "best (JPEG, PNG or WebP, up to 10 MB).")
    remove_favicon = forms.BooleanField(required=False, label="Remove the favicon")
    show_powered_by = forms.BooleanField(required=False, label="Show “Powered by” in the footer")
    # Set by the page's script, which fills every field when a preset is chosen: the form then holds
    # the whole theme as previewed and is saved as it is.
    complete = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, white_label: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not white_label:
            # A disabled field keeps its initial value whatever is posted.
            self.fields["show_powered_by"].disabled = True
