"""The upload step of the import wizard. The mapping step is built per file (one select per column) in the view."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import readers
from .models import ImportObjectType

DELIMITER_CHOICES = [("", _("Detect automatically")), (",", _("Comma ,")), (";", _("Semicolon ;")),
                     ("\t", _("Tab")), ("|", _("Vertical bar |"))]


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("CSV or XLSX, at most 200 MB. The first row names the columns."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}))
    object_type = forms.ChoiceField(label=_("Import"), choices=ImportObjectType.choices,
                                    initial=ImportObjectType.CONTACT)
    encoding = forms.ChoiceField(label=_("Encoding"), choices=readers.ENCODINGS, required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter"), choices=DELIMITER_CHOICES, required=False)


class ReadAgainForm(forms.Form):
    encoding = forms.ChoiceField(label=_("Encoding"), choices=readers.ENCODINGS, required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter"), choices=DELIMITER_CHOICES, required=False)
