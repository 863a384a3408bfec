"""Strings whose Django translation reads badly in our languages, marked here so our catalogue overrides them.

Django's Simplified Chinese renders ``timesince`` as "5 月前" ("before May") and "5 日前"; ours says "5 个月前"
and "5 天前". This module is never imported: ``makemessages`` only needs to find the strings.
"""

from django.utils.translation import ngettext_lazy

TIMESINCE_OVERRIDES = [
    ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
]
