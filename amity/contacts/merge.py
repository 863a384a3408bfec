"""Merging two contacts: the kept contact ("winner") takes the chosen field values and everything of the other.

Everything that points at the merged contact ("loser") moves to the winner: emails, phones, tags, preferences,
special dates, notes and interactions, tasks, deals, quotes, orders, carts, behaviour events, visitors, timeline
events and any table a future app adds with a foreign key to ``Contact`` (found through ``Contact._meta``, so a
new FK is moved without a change here). Tables with a unique constraint on the contact are merged row by row:
product-view summaries and product stats are summed, pure link tables (tags, deal contacts) keep one link, other
rows that would collide stay on the merged contact. The loser is kept with ``merged_into`` set: its old URLs
redirect to the winner and every list, search and API list hides it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amity.core import audit, search
from amity.core.customfields import definitions
from amity.core.events import emit
from amity.core.models import AuditAction, Event
from amity.core.permissions import can_edit, get_visible_or_404, require, visible_to

from . import services
from .models import (
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicatePair,
    DuplicateStatus,
    SpecialDate,
    SpecialDateKind,
)

WINNER, LOSER = "winner", "loser"
# The choosable fields, in the order the merge page shows them: key → (label, the Contact columns it sets).
FIELD_GROUPS: dict[str, tuple[Any, list[str]]] = {
    "name": (gettext_lazy("Name"), ["first_name", "last_name"]),
    "email": (gettext_lazy("Primary email"), ["email"]),
    "phone": (gettext_lazy("Primary phone"), ["phone"]),
    "company": (gettext_lazy("Company"), ["company"]),
    "job_title": (gettext_lazy("Job title"), ["job_title"]),
    "owner": (gettext_lazy("Owner"), ["owner"]),
    "lifecycle_stage": (gettext_lazy("Lifecycle stage"), ["lifecycle_stage"]),
    "source": (gettext_lazy("Source"), ["source"]),
    "address": (gettext_lazy("Address"), ["street", "city", "region", "postal_code", "country"]),
    "time_zone": (gettext_lazy("Time zone"), ["time_zone"]),
    "language": (gettext_lazy("Language"), ["language"]),
    "do_not_contact": (gettext_lazy("Do not contact"), ["do_not_contact"]),
    "birthday": (gettext_lazy("Birthday"), []),
    "external_id": (gettext_lazy("External id"), ["external_id"]),
    "photo": (gettext_lazy("Photo"), ["photo"]),
}
# Relations moved by hand (before the generic pass) or not at all.
_HANDLED = {
    (ContactEmail, "contact"), (ContactPhone, "contact"), (SpecialDate, "contact"),
    (DuplicatePair, "contact_a"), (DuplicatePair, "contact_b"),
}


def choice_keys(winner: Contact, loser: Contact) -> list[str]:
    """Every field key a merge of these two contacts accepts: the groups plus ``custom.<key>`` per custom field."""
    keys = list(FIELD_GROUPS)
    custom = {d.key for d in definitions("contact")} | set(winner.custom or {}) | set(loser.custom or {})
    return keys + [f"custom.{k}" for k in sorted(custom)]


def get_contact_any(*, user: Any, uuid: Any) -> Contact:
    """A contact the user may see, merged or not (so a merge involving a merged contact gets a clear error
    instead of a 404), or Http404."""
    return get_visible_or_404(user, Contact.objects.select_related("company", "owner"), uuid=uuid)


def _birthday(contact: Contact) -> SpecialDate | None:
    return SpecialDate.objects.filter(contact=contact, kind=SpecialDateKind.BIRTHDAY).first()


def field_value(contact: Contact, key: str) -> Any:
    """What the merge page shows for one field of one contact (empty string when unset)."""
    if key.startswith("custom."):
        return (contact.custom or {}).get(key[7:], "")
    if key == "birthday":
        day = _birthday(contact)
        return "" if day is None else (f"{day.year}-{day.month:02d}-{day.day:02d}" if day.year
                                       else f"--{day.month:02d}-{day.day:02d}")
    if key == "name":
        return contact.display_name if (contact.first_name or contact.last_name) else ""
    if key == "address":
        return ", ".join(v for v in (contact.street, contact.postal_code, contact.city, contact.region,
                                     contact.country) if v)
    if key in {"company", "owner"}:
        return getattr(contact, key) or ""
    if key == "do_not_contact":
        return contact.do_not_contact or ""
    return getattr(contact, FIELD_GROUPS[key][1][0]) or ""


def field_display(contact: Contact, key: str) -> str:
    """The value as the merge page shows it (choice labels rather than codes)."""
    value = field_value(contact, key)
    if value == "":
        return ""
    if key == "lifecycle_stage":
        return str(contact.get_lifecycle_stage_display())
    if key == "phone":
        from amity.core.normalize import format_phone

        return format_phone(str(value))
    if value is True:
        return str(_("Yes"))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def default_choices(winner: Contact, loser: Contact) -> dict[str, str]:
    """Per field: the non-empty value; when both have one, the more recently updated contact's."""
    newer = LOSER if loser.updated_at > winner.updated_at else WINNER
    result = {}
    for key in choice_keys(winner, loser):
        mine, theirs = field_value(winner, key), field_value(loser, key)
        if key == "do_not_contact":  # a "do not contact" on either side wins: never contact by mistake
            result[key] = LOSER if theirs and not mine else WINNER
        elif not theirs or mine == theirs:
            result[key] = WINNER
        elif not mine:
            result[key] = LOSER
        else:
            result[key] = newer
    return result


def _clean_choices(winner: Contact, loser: Contact, choices: dict[str, Any] | None) -> dict[str, str]:
    allowed = choice_keys(winner, loser)
    problems = []
    for key, value in (choices or {}).items():
        if key not in allowed:
            problems.append(_("“%(key)s” is not a field you can choose (use one of: %(choices)s).")
                            % {"key": key, "choices": ", ".join(allowed)})
        elif value not in (WINNER, LOSER):
            problems.append(_("Choose “winner” or “loser” for “%(key)s”.") % {"key": key})
    if problems:
        raise ValidationError({"fields": problems})
    result = default_choices(winner, loser)
    result.update({k: str(v) for k, v in (choices or {}).items()})
    return result


def check_mergeable(*, winner: Contact, loser: Contact) -> None:
    """Clear errors for a merge that cannot be: into itself, into or from an already merged contact."""
    if winner.pk == loser.pk:
        raise ValidationError({"other": [_("A contact cannot be merged into itself.")]})
    if winner.merged_into_id:
        raise ValidationError({"other": [_("%(name)s was already merged into another contact; merge into that one.")
                                         % {"name": str(winner)}]})
    if loser.merged_into_id:
        raise ValidationError({"other": [_("%(name)s was already merged into another contact.")
                                         % {"name": str(loser)}]})


# --- moving related rows -----------------------------------------------------------------------------------------

def _relations() -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every foreign key to Contact, including hidden ones (``related_name="+"``) and M2M link tables."""
    found: list[tuple[type[models.Model], models.ForeignKey]] = []
    for rel in Contact._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one):
            found.append((rel.related_model, rel.field))  # type: ignore[arg-type,union-attr]
    return found


def _unique_sets(model: type[models.Model], field: models.Field) -> list[list[str]]:
    """The unconditional unique field sets of ``model`` that include ``field``."""
    sets = [list(u) for u in model._meta.unique_together]
    sets += [list(c.fields) for c in model._meta.constraints
             if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None]
    result = [s for s in sets if field.name in s]
    if field.unique:
        result.append([field.name])
    return result


def _sum_product_views(winner: Contact, loser: Contact) -> int:
    from amity.commerce.models import ProductViewSummary

    return _sum_rows(ProductViewSummary, winner, loser, ["product_id", "week_start"],
                     add=["views"], latest=["last_viewed_at"])


def _sum_product_stats(winner: Contact, loser: Contact) -> int:
    from amity.commerce.models import CustomerProductStat

    return _sum_rows(CustomerProductStat, winner, loser, ["product_id"],
                     add=["quantity", "spent_base", "orders"], latest=["last_bought_at"])


def _sum_rows(model: Any, winner: Contact, loser: Contact, key: list[str], add: list[str], latest: list[str]) -> int:
    """Fold the loser's rows into the winner's row with the same key (adding counters, keeping the latest date);
    move the rest."""
    mine = {tuple(r[k] for k in key): r["id"] for r in model.objects.filter(contact=winner).values("id", *key)}
    moved = 0
    for row in model.objects.filter(contact=loser):
        target = mine.get(tuple(getattr(row, k) for k in key))
        if target is None:
            row.contact = winner
            row.save(update_fields=["contact"])
        else:
            model.objects.filter(pk=target).update(**{f: F(f) + getattr(row, f) for f in add})
            for f in latest:
                model.objects.filter(pk=target, **{f"{f}__lt": getattr(row, f)}).update(**{f: getattr(row, f)})
            row.delete()
        moved += 1
    return moved


# Tables whose unique constraint per contact is resolved by adding up (label used in the preview/audit).
COMBINERS: dict[str, Callable[[Contact, Contact], int]] = {
    "commerce.productviewsummary": _sum_product_views,
    "commerce.customerproductstat": _sum_product_stats,
}


def _move(model: type[models.Model], field: models.ForeignKey, winner: Contact, loser: Contact) -> int:
    """Point ``model.field`` rows of the loser at the winner, respecting the model's unique constraints."""
    label = model._meta.label_lower
    if label in COMBINERS:
        return COMBINERS[label](winner, loser)
    manager = model._base_manager
    rows = manager.filter(**{field.name: loser})
    unique = _unique_sets(model, field)
    if not unique:
        return rows.update(**{field.name: winner})
    # Rows whose other unique columns already exist on the winner cannot move: an auto-created link table
    # (tags, deal contacts) just drops the duplicate link; any other table keeps those rows on the merged contact.
    taken: set[tuple[Any, ...]] = set()
    others = [[f for f in fields if f != field.name] for fields in unique]
    winner_rows = manager.filter(**{field.name: winner})
    for cols in others:
        attnames = [model._meta.get_field(c).attname for c in cols]  # type: ignore[union-attr]
        if attnames:
            taken |= {(tuple(cols), tuple(v)) for v in winner_rows.values_list(*attnames)}
        elif winner_rows.exists():
            taken.add((tuple(cols), ()))
    def key(obj: Any, cols: list[str]) -> tuple[Any, ...]:
        return (tuple(cols), tuple(getattr(obj, model._meta.get_field(c).attname) for c in cols))  # type: ignore[union-attr]

    moved = 0
    for obj in rows:
        clash = any(key(obj, cols) in taken for cols in others)
        if clash:
            if model._meta.auto_created:
                obj.delete()
            continue
        manager.filter(pk=obj.pk).update(**{field.name: winner})
        for cols in others:
            taken.add(key(obj, cols))
        moved += 1
    return moved


def _relation_label(model: type[models.Model], field: models.ForeignKey) -> str:
    """"deals" for the deal-contact link table, "orders" for Order.contact…"""
    if model._meta.auto_created:
        other = next(f for f in model._meta.fields if f.is_relation and f is not field and f.name != "id")
        return str(other.related_model._meta.verbose_name_plural)  # type: ignore[union-attr]
    return str(model._meta.verbose_name_plural)


def merge_preview(contact: Contact) -> list[tuple[str, int]]:
    """What would move from ``contact`` to the kept one: (label, count) for every non-empty relation, the
    timeline entries first."""
    counts: list[tuple[str, int]] = []
    events = Event.objects.filter(contact_id=contact.pk).count()
    if events:
        counts.append((str(_("timeline entries")), events))
    for label, n in ((_("emails"), contact.emails.count()), (_("phones"), contact.phones.count())):
        if n:
            counts.append((str(label), n))
    for model, field in _relations():
        if (model, field.name) in _HANDLED or model is Contact:
            continue
        n = model._base_manager.filter(**{field.name: contact}).count()
        if n:
            counts.append((_relation_label(model, field), n))
    return counts


# --- the merge ----------------------------------------------------------------------------------------------------

def _apply_fields(winner: Contact, loser: Contact, choices: dict[str, str]) -> list[str]:
    changed: list[str] = []
    custom = dict(winner.custom or {})
    for key, side in choices.items():
        if side != LOSER:
            continue
        if key.startswith("custom."):
            name = key[7:]
            if name in (loser.custom or {}):
                custom[name] = loser.custom[name]
            else:
                custom.pop(name, None)
            continue
        if key in {"email", "phone", "birthday"}:
            continue  # rows, handled below
        for column in FIELD_GROUPS[key][1]:
            setattr(winner, column, getattr(loser, column))
            changed.append(column)
    if custom != (winner.custom or {}):
        winner.custom = custom
        changed.append("custom")
    return changed


def _merge_emails_phones(winner: Contact, loser: Contact, choices: dict[str, str]) -> dict[str, int]:
    loser_primary_email = loser.emails.filter(is_primary=True).values_list("email", flat=True).first() or loser.email
    moved_emails = ContactEmail.objects.filter(contact=loser).update(contact=winner, is_primary=False)
    have = set(ContactPhone.objects.filter(contact=winner).values_list("number", flat=True))
    loser_primary_phone = loser.phone
    moved_phones = ContactPhone.objects.filter(contact=loser).exclude(number__in=have).update(
        contact=winner, is_primary=False)
    # Which address and number are primary: the chosen side's, when it has one.
    if choices.get("email") == LOSER and loser_primary_email:
        primary_email = loser_primary_email
    else:
        primary_email = winner.email or loser_primary_email
    if primary_email:
        ContactEmail.objects.filter(contact=winner).update(is_primary=False)
        ContactEmail.objects.filter(contact=winner, email=primary_email).update(is_primary=True)
    winner.email = primary_email or ""
    primary_phone = loser_primary_phone if choices.get("phone") == LOSER and loser_primary_phone else (
        winner.phone or loser_primary_phone)
    if primary_phone:
        ContactPhone.objects.filter(contact=winner).update(is_primary=False)
        first = ContactPhone.objects.filter(contact=winner, number=primary_phone).order_by("id").first()
        if first is not None:
            ContactPhone.objects.filter(pk=first.pk).update(is_primary=True)
    winner.phone = primary_phone or ""
    return {"emails": moved_emails, "phones": moved_phones}


def _merge_special_dates(winner: Contact, loser: Contact, choices: dict[str, str]) -> int:
    theirs = _birthday(loser)
    if choices.get("birthday") == LOSER and theirs is not None:
        # The two birthdays swap: the one not chosen stays on the merged contact (one birthday per contact).
        mine = _birthday(winner)
        if mine is not None:
            mine.delete()
        theirs.contact = winner
        theirs.save(update_fields=["contact"])
        if mine is not None:
            SpecialDate.objects.create(contact=loser, kind=SpecialDateKind.BIRTHDAY, label=mine.label,
                                       month=mine.month, day=mine.day, year=mine.year)
    have = set(SpecialDate.objects.filter(contact=winner).values_list("kind", "label", "month", "day"))
    moved = 0
    for special in SpecialDate.objects.filter(contact=loser).exclude(kind=SpecialDateKind.BIRTHDAY):
        if (special.kind, special.label, special.month, special.day) in have:
            continue
        special.contact = winner
        special.save(update_fields=["contact"])
        moved += 1
    return moved


def _merge_pairs(winner: Contact, loser: Contact, actor: Any, now: Any) -> None:
    """The pair of these two becomes "merged"; the loser's other pairs move to the winner (or close when the
    winner already has a pair with that contact)."""
    a, b = sorted((winner.pk, loser.pk))
    DuplicatePair.objects.filter(contact_a_id=a, contact_b_id=b).update(
        status=DuplicateStatus.MERGED, resolved_at=now, resolved_by=actor if getattr(actor, "pk", None) else None)
    others = DuplicatePair.objects.filter(models.Q(contact_a=loser) | models.Q(contact_b=loser)).exclude(
        contact_a_id=a, contact_b_id=b)
    for pair in others:
        third = pair.contact_b_id if pair.contact_a_id == loser.pk else pair.contact_a_id
        lo, hi = sorted((winner.pk, third))
        if pair.status == DuplicateStatus.OPEN and not DuplicatePair.objects.filter(
                contact_a_id=lo, contact_b_id=hi).exists():
            DuplicatePair.objects.create(contact_a_id=lo, contact_b_id=hi, score=pair.score, reasons=pair.reasons,
                                         detected_at=pair.detected_at)
        pair.delete()


def _refresh_facts(winner: Contact, loser: Contact) -> None:
    """Order facts from scratch (commerce), or added up when commerce cannot recompute them."""
    try:
        from amity.commerce import services as commerce_services

        recompute = getattr(commerce_services, "recompute_customer_facts", None)
    except ImportError:  # pragma: no cover - commerce is part of the project
        recompute = None
    last_contacted = max((d for d in (winner.last_contacted_at, loser.last_contacted_at) if d), default=None)
    last_activity = max((d for d in (winner.last_activity_at, loser.last_activity_at) if d), default=None)
    Contact.objects.filter(pk=winner.pk).update(last_contacted_at=last_contacted, last_activity_at=last_activity)
    if recompute is not None:
        recompute(winner)
        return
    count = winner.order_count + loser.order_count
    value = winner.lifetime_value + loser.lifetime_value
    Contact.objects.filter(pk=winner.pk).update(
        order_count=count, lifetime_value=value,
        average_order_value=(value / count) if count else 0,
        first_order_at=min((d for d in (winner.first_order_at, loser.first_order_at) if d), default=None),
        last_order_at=max((d for d in (winner.last_order_at, loser.last_order_at) if d), default=None),
    )


def merge_contacts(*, user: Any, winner: Contact, loser: Contact, field_choices: dict[str, Any] | None = None) -> Contact:
    """Merge ``loser`` into ``winner`` in one transaction; returns the winner, refreshed.

    403 for a role that cannot edit; 404 when the user may not see both; ``ValidationError`` for a merge into
    itself, into or from an already merged contact, or an unknown field choice."""
    require(can_edit(user), _("Your role cannot merge contacts."))
    with transaction.atomic():
        locked = Contact.objects.filter(pk__in=[winner.pk, loser.pk])
        if transaction.get_connection().vendor == "postgresql":
            locked = locked.select_for_update()
        fresh = {c.pk: c for c in locked}
        if winner.pk not in fresh or loser.pk not in fresh or visible_to(
                user, Contact.objects.filter(pk__in=list(fresh))).count() != len(fresh):
            raise Http404
        winner, loser = fresh[winner.pk], fresh[loser.pk]
        check_mergeable(winner=winner, loser=loser)
        choices = _clean_choices(winner, loser, field_choices)
        now = timezone.now()
        loser_state = services._contact_state(loser)
        before = services._contact_state(winner)

        changed = _apply_fields(winner, loser, choices)
        moved: dict[str, int] = _merge_emails_phones(winner, loser, choices)
        moved["special_dates"] = _merge_special_dates(winner, loser, choices)
        for model, field in _relations():
            if (model, field.name) in _HANDLED:
                continue
            n = _move(model, field, winner, loser)
            if n:
                moved[model._meta.label_lower] = moved.get(model._meta.label_lower, 0) + n
        moved["events"] = Event.objects.filter(contact_id=loser.pk).update(contact_id=winner.pk)
        _merge_pairs(winner, loser, user, now)

        from amity.core.normalize import display_name

        winner.display_name = display_name(winner.first_name, winner.last_name) or winner.email
        winner.save(update_fields=sorted({*changed, "display_name", "email", "phone", "updated_at"}))
        loser.merged_into = winner
        loser.save(update_fields=["merged_into", "updated_at"])
        _refresh_facts(winner, loser)
        winner.refresh_from_db()

        search.remove("contact", loser.pk)
        search.index_contact(winner)
        changes = audit.diff(before, services._contact_state(winner))
        audit.record(AuditAction.MERGE, actor=user, obj=winner, changes={
            "merged": {"id": str(loser.uuid), "name": str(loser), "snapshot": loser_state},
            "fields": choices, "changes": changes, "moved": moved,
        })
        emit("contact.merged", subject=winner, actor=user, contact_id=winner.pk, company_id=winner.company_id,
             payload={"name": str(loser), "other": str(loser.uuid), "moved": moved, "changes": changes})
    return winner
