"""Every write to pipelines, stages and deals: validated, transactional, audited, emitting events.

Deal events carry ``deal_id`` and ``company_id``; a contact's timeline includes the events of its deals, so one
``deal.won`` shows on the deal, its company and each of its contacts.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.contacts.models import Contact
from amity.contacts.services import Errors, tags_by_name
from amity.core import audit
from amity.core.customfields import clean_custom
from amity.core.events import emit
from amity.core.models import AuditAction
from amity.core.money import CENT, clean_amount, clean_currency, to_base
from amity.core.normalize import clean_text
from amity.core.permissions import can_delete, can_edit, is_admin, require

from .models import Deal, DealLineItem, DealStageHistory, LostReason, Pipeline, Stage, StageKind

DEAL_AUDITED = ["name", "pipeline", "stage", "amount", "currency", "expected_close_date", "probability", "owner",
                "company", "lost_reason", "lost_note", "custom"]
DEAL_EDITABLE = ["name", "pipeline", "stage", "amount", "currency", "amount_base", "expected_close_date",
                 "probability", "owner", "company", "lost_reason", "lost_note", "custom", "stage_entered_at",
                 "closed_at", "updated_at"]


def _clean_date(errors: Errors, field: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(field, _("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": value})
        return None


def _clean_probability(errors: Errors, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip().rstrip("%"))
    except ValueError:
        errors.add("probability", _("“%(value)s” is not a whole number.") % {"value": value})
        return None
    if not 0 <= number <= 100:
        errors.add("probability", _("A probability is between 0 and 100."))
        return None
    return number


def clean_deal_input(data: dict[str, Any], deal: Deal | None = None, partial: bool = False) -> dict[str, Any]:
    """Validate deal fields. ``pipeline``/``stage``/``company``/``owner``/``lost_reason`` arrive as objects the
    caller resolved (through permission-scoped selectors); ``contacts`` as a list of Contact objects."""
    errors = Errors()
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        out["name"] = clean_text(data.get("name"))[:200]
        if not out["name"]:
            errors.add("name", _("Give the deal a name."))
    for key in ("amount",):
        if key in data:
            try:
                out[key] = clean_amount(data[key])
            except ValidationError as exc:
                errors.merge(exc)
    if "currency" in data or not partial:
        try:
            out["currency"] = clean_currency(data.get("currency") or (deal.currency if deal else ""))
        except ValidationError as exc:
            errors.merge(exc)
    if "expected_close_date" in data:
        out["expected_close_date"] = _clean_date(errors, "expected_close_date", data["expected_close_date"])
    if "probability" in data:
        out["probability"] = _clean_probability(errors, data["probability"])
    for key in ("company", "owner", "lost_reason", "contacts"):
        if key in data:
            out[key] = data[key]
    if "lost_note" in data:
        out["lost_note"] = clean_text(data["lost_note"])[:300]
    if "tags" in data:
        raw = data["tags"]
        out["tags"] = [t for t in (clean_text(n)[:64] for n in (raw.split(",") if isinstance(raw, str) else raw or []))
                       if t]
    pipeline = data.get("pipeline") or (deal.pipeline if deal else None)
    stage = data.get("stage")
    if stage is None and deal is None:
        stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position").first() if pipeline else None
    if not partial and pipeline is None:
        errors.add("pipeline", _("Choose a pipeline."))
    if stage is not None:
        if pipeline is not None and stage.pipeline_id != pipeline.pk:
            errors.add("stage", _("“%(stage)s” is a stage of another pipeline (%(pipeline)s).")
                       % {"stage": stage, "pipeline": stage.pipeline})
        out["stage"] = stage
    if pipeline is not None:
        out["pipeline"] = pipeline
    if "custom" in data or not partial:
        try:
            out["custom"] = clean_custom("deal", data.get("custom") or {}, deal.custom if deal else None,
                                         partial=partial)
        except ValidationError as exc:
            errors.merge(exc)
    errors.raise_if_any()
    return out


def _deal_state(deal: Deal) -> dict[str, Any]:
    state = audit.snapshot(deal, DEAL_AUDITED)
    if deal.pk:
        state["contacts"] = sorted(str(c) for c in deal.contacts.all())
        state["tags"] = sorted(deal.tags.values_list("name", flat=True))
    return state


def _refresh_base_amount(deal: Deal) -> None:
    on = deal.closed_at.date() if deal.closed_at else timezone.localdate()
    deal.amount_base = to_base(deal.amount, deal.currency, on)


def _timelines(deal: Deal) -> dict[str, Any]:
    return {"deal_id": deal.pk, "company_id": deal.company_id}


def _deal_payload(deal: Deal, **extra: Any) -> dict[str, Any]:
    return {"deal": str(deal.uuid), "name": deal.name, "amount": str(deal.amount), "currency": deal.currency,
            "stage": deal.stage.name, **extra}


@transaction.atomic
def create_deal(*, actor: Any, data: dict[str, Any]) -> Deal:
    require(actor is None or can_edit(actor))
    cleaned = clean_deal_input(data)
    now = timezone.now()
    stage: Stage = cleaned["stage"]
    probability: int = cleaned["probability"] if cleaned.get("probability") is not None else stage.probability
    deal = Deal(
        name=cleaned["name"], pipeline=cleaned["pipeline"], stage=stage, amount=cleaned.get("amount", Decimal(0)),
        currency=cleaned["currency"], expected_close_date=cleaned.get("expected_close_date"),
        probability=probability,
        company=cleaned.get("company"), custom=cleaned.get("custom", {}),
        owner=cleaned.get("owner", actor if getattr(actor, "is_authenticated", False) else None),
        stage_entered_at=now, closed_at=now if stage.kind != StageKind.OPEN else None, last_activity_at=now,
    )
    _refresh_base_amount(deal)
    deal.save()
    if cleaned.get("contacts"):
        deal.contacts.set(cleaned["contacts"])
    if cleaned.get("tags"):
        deal.tags.set(tags_by_name(cleaned["tags"]))
    DealStageHistory.objects.create(deal=deal, stage=stage, entered_at=now, actor=_user(actor))
    audit.record(AuditAction.CREATE, actor=actor, obj=deal, changes=_deal_state(deal))
    emit("deal.created", subject=deal, actor=actor, payload=_deal_payload(deal), **_timelines(deal))
    return deal


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def update_deal(*, actor: Any, deal: Deal, data: dict[str, Any]) -> Deal:
    """Edit a deal's fields. A stage in ``data`` moves it (same rules as ``move_deal``)."""
    require(actor is None or can_edit(actor))
    cleaned = clean_deal_input(data, deal=deal, partial=True)
    before = _deal_state(deal)
    new_stage = cleaned.pop("stage", None)
    for field in ("name", "amount", "currency", "expected_close_date", "company", "owner", "lost_note", "custom",
                  "lost_reason"):
        if field in cleaned:
            setattr(deal, field, cleaned[field])
    if "probability" in cleaned:
        deal.probability = cleaned["probability"] if cleaned["probability"] is not None else deal.stage.probability
    _refresh_base_amount(deal)
    deal.save(update_fields=DEAL_EDITABLE)
    if "contacts" in cleaned:
        deal.contacts.set(cleaned["contacts"])
    if "tags" in cleaned:
        deal.tags.set(tags_by_name(cleaned["tags"]))
    if new_stage is not None and new_stage.pk != deal.stage_id:
        _move(actor, deal, new_stage, lost_reason=cleaned.get("lost_reason"))
    changes = audit.diff(before, _deal_state(deal))
    if changes:
        audit.record(AuditAction.UPDATE, actor=actor, obj=deal, changes=changes)
        emit("deal.updated", subject=deal, actor=actor, payload=_deal_payload(deal, changes=changes),
             **_timelines(deal))
    return deal


def _move(actor: Any, deal: Deal, stage: Stage, lost_reason: LostReason | None = None) -> None:
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": [_("“%(stage)s” is a stage of another pipeline (%(pipeline)s); a deal moves "
                                           "only within its own pipeline.") % {"stage": stage, "pipeline": stage.pipeline}]})
    now = timezone.now()
    old = deal.stage
    DealStageHistory.objects.filter(deal=deal, left_at__isnull=True).update(left_at=now)
    DealStageHistory.objects.create(deal=deal, stage=stage, entered_at=now, actor=_user(actor))
    deal.stage = stage
    deal.stage_entered_at = now
    deal.probability = stage.probability
    deal.closed_at = now if stage.kind != StageKind.OPEN else None
    if stage.kind == StageKind.LOST:
        deal.lost_reason = lost_reason or deal.lost_reason
    else:
        deal.lost_reason, deal.lost_note = None, ""
    deal.last_activity_at = now
    _refresh_base_amount(deal)
    deal.save(update_fields=[*DEAL_EDITABLE, "last_activity_at"])
    payload = _deal_payload(deal, **{"from": old.name, "to": stage.name})
    emit("deal.stage_changed", subject=deal, actor=actor, payload=payload, **_timelines(deal))
    if stage.kind == StageKind.WON:
        emit("deal.won", subject=deal, actor=actor, payload=payload, **_timelines(deal))
    elif stage.kind == StageKind.LOST:
        payload["lost_reason"] = str(deal.lost_reason) if deal.lost_reason else ""
        emit("deal.lost", subject=deal, actor=actor, payload=payload, **_timelines(deal))


@transaction.atomic
def move_deal(*, actor: Any, deal: Deal, stage: Stage, lost_reason: LostReason | None = None,
              position_hint: Any = None) -> Deal:
    """Move a deal to another stage of its pipeline (the board's drag and drop)."""
    require(actor is None or can_edit(actor))
    if stage.pk == deal.stage_id:
        return deal
    before = {"stage": deal.stage.name}
    _move(actor, deal, stage, lost_reason=lost_reason)
    audit.record(AuditAction.UPDATE, actor=actor, obj=deal, changes=audit.diff(before, {"stage": stage.name}))
    return deal


@transaction.atomic
def delete_deal(*, actor: Any, deal: Deal) -> None:
    require(actor is None or can_delete(actor), _("Your role cannot delete records."))
    audit.record(AuditAction.DELETE, actor=actor, obj=deal, changes=_deal_state(deal))
    emit("deal.deleted", subject=deal, actor=actor, payload=_deal_payload(deal), company_id=deal.company_id,
         deal_id=deal.pk)
    deal.delete()


# --- line items ------------------------------------------------------------------------------------------------

def line_amount(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    return (quantity * unit_price * (Decimal(100) - discount_percent) / Decimal(100)).quantize(
        CENT, rounding=ROUND_HALF_UP)


def clean_line_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of {product?, name, quantity, unit_price, discount_percent}; errors keyed ``line_items.<n>.<field>``."""
    errors: dict[str, list[str]] = {}
    cleaned = []
    for n, item in enumerate(items):
        prefix = f"line_items.{n}"
        product = item.get("product")
        name = clean_text(item.get("name") or (product.name if product else ""))[:200]
        if not name:
            errors[f"{prefix}.name"] = [_("Name the item or choose a product.")]
        row: dict[str, Any] = {"product": product, "name": name, "position": n}
        for field, label in (("quantity", "quantity"), ("unit_price", "unit_price"),
                             ("discount_percent", "discount_percent")):
            raw = item.get(field)
            if raw in (None, "") and field == "discount_percent":
                raw = 0
            try:
                value = clean_amount(raw, field=f"{prefix}.{label}", allow_negative=True)
            except ValidationError as exc:
                errors.update(exc.message_dict)
                continue
            if value < 0:
                errors[f"{prefix}.{label}"] = [_("This cannot be negative.")]
            elif field == "quantity" and value == 0:
                errors[f"{prefix}.{label}"] = [_("The quantity must be more than zero.")]
            elif field == "discount_percent" and value > 100:
                errors[f"{prefix}.{label}"] = [_("A discount is at most 100%.")]
            row[field] = value
        if not any(k.startswith(prefix + ".") for k in errors):
            row["amount"] = line_amount(row["quantity"], row["unit_price"], row["discount_percent"])
            cleaned.append(row)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def set_line_items(*, actor: Any, deal: Deal, items: list[dict[str, Any]], update_amount: bool = True) -> Deal:
    """Replace the deal's line items; the deal amount becomes their total (unless told otherwise)."""
    require(actor is None or can_edit(actor))
    rows = clean_line_items(items)
    before = {"line_items": [f"{li.quantity} × {li.name} @ {li.unit_price} -{li.discount_percent}%"
                             for li in deal.line_items.all()], "amount": str(deal.amount)}
    deal.line_items.all().delete()
    DealLineItem.objects.bulk_create([DealLineItem(deal=deal, **row) for row in rows])
    if update_amount:
        deal.amount = sum((r["amount"] for r in rows), Decimal(0))
        _refresh_base_amount(deal)
        deal.save(update_fields=["amount", "amount_base", "updated_at"])
    after = {"line_items": [f"{r['quantity']} × {r['name']} @ {r['unit_price']} -{r['discount_percent']}%"
                            for r in rows], "amount": str(deal.amount)}
    changes = audit.diff(before, after)
    if changes:
        audit.record(AuditAction.UPDATE, actor=actor, obj=deal, changes=changes)
        emit("deal.updated", subject=deal, actor=actor, payload=_deal_payload(deal, changes=changes),
             **_timelines(deal))
    return deal


def touch_deal(deal: Deal, when: dt.datetime | None = None) -> None:
    """Record activity on a deal (a call or note logged about it) for the "stuck deals" report."""
    when = when or timezone.now()
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=when)


# --- pipelines and stages (admins) ---------------------------------------------------------------------------------

@transaction.atomic
def create_pipeline(*, actor: Any, name: str, stages: list[dict[str, Any]]) -> Pipeline:
    """A pipeline with ordered stages [{name, probability, kind}]; it needs at least one open stage, one won and
    one lost stage."""
    require(is_admin(actor), _("Only admins manage pipelines."))
    errors: dict[str, list[str]] = {}
    name = clean_text(name)[:100]
    if not name:
        errors["name"] = [_("Name the pipeline.")]
    kinds = [s.get("kind") or StageKind.OPEN for s in stages]
    if StageKind.OPEN not in kinds or StageKind.WON not in kinds or StageKind.LOST not in kinds:
        errors["stages"] = [_("A pipeline needs at least one open stage, a won stage and a lost stage.")]
    clean_stages = []
    for n, stage in enumerate(stages):
        stage_name = clean_text(stage.get("name"))[:100]
        probability = stage.get("probability")
        if not stage_name:
            errors[f"stages.{n}.name"] = [_("Name the stage.")]
        try:
            probability = int(probability if probability not in (None, "") else 0)
            if not 0 <= probability <= 100:
                raise ValueError
        except (TypeError, ValueError):
            errors[f"stages.{n}.probability"] = [_("A probability is between 0 and 100.")]
        if kinds[n] not in StageKind.values:
            errors[f"stages.{n}.kind"] = [_("A stage is open, won or lost.")]
        clean_stages.append({"name": stage_name, "probability": probability, "kind": kinds[n], "position": n})
    if errors:
        raise ValidationError(errors)
    position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    pipeline = Pipeline.objects.create(name=name, position=position, is_default=not Pipeline.objects.exists())
    Stage.objects.bulk_create([Stage(pipeline=pipeline, **s) for s in clean_stages])
    audit.record(AuditAction.CREATE, actor=actor, obj=pipeline,
                 changes={"name": name, "stages": [s["name"] for s in clean_stages]})
    return pipeline


def deals_of_contact(contact: Contact) -> list[int]:
    return list(contact.deals.values_list("pk", flat=True))


def _clean_stage_fields(data: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = clean_text(data.get("name"))[:100]
        if not out["name"]:
            errors["name"] = [_("Name the stage.")]
    if "probability" in data:
        try:
            out["probability"] = int(str(data.get("probability")).strip().rstrip("%"))
            if not 0 <= out["probability"] <= 100:
                raise ValueError
        except (TypeError, ValueError):
            errors["probability"] = [_("A probability is between 0 and 100.")]
    return out


def _renumber(pipeline: Pipeline, ordered: list[Stage]) -> None:
    for n, stage in enumerate(ordered):
        if stage.position != n:
            stage.position = n
    Stage.objects.bulk_update(ordered, ["position"])


@transaction.atomic
def update_stage(*, actor: Any, stage: Stage, data: dict[str, Any]) -> Stage:
    """Rename a stage, change its default probability (deals keep theirs), or move it: ``position`` is its new
    0-based place among the pipeline's stages."""
    require(is_admin(actor), _("Only admins manage pipelines."))
    errors: dict[str, list[str]] = {}
    cleaned = _clean_stage_fields(data, errors)
    position = data.get("position")
    if position not in (None, ""):
        try:
            position = int(position)
        except (TypeError, ValueError):
            errors["position"] = [_("“%(value)s” is not a whole number.") % {"value": position}]
    if errors:
        raise ValidationError(errors)
    before = audit.snapshot(stage, ["name", "probability", "position"])
    for key, value in cleaned.items():
        setattr(stage, key, value)
    stage.save(update_fields=[*cleaned, "updated_at"] if cleaned else ["updated_at"])
    if position not in (None, ""):
        others = [s for s in stage.pipeline.stages.order_by("position", "id") if s.pk != stage.pk]
        others.insert(max(0, min(int(position), len(others))), stage)
        _renumber(stage.pipeline, others)
    changes = audit.diff(before, audit.snapshot(stage, ["name", "probability", "position"]))
    if changes:
        audit.record(AuditAction.UPDATE, actor=actor, obj=stage, changes=changes)
    return stage


@transaction.atomic
def add_stage(*, actor: Any, pipeline: Pipeline, data: dict[str, Any]) -> Stage:
    """A new open stage, placed before the pipeline's won and lost stages."""
    require(is_admin(actor), _("Only admins manage pipelines."))
    errors: dict[str, list[str]] = {}
    cleaned = _clean_stage_fields({"name": data.get("name"), "probability": data.get("probability") or 0}, errors)
    if errors:
        raise ValidationError(errors)
    ordered = list(pipeline.stages.order_by("position", "id"))
    first_closed = next((n for n, s in enumerate(ordered) if s.kind != StageKind.OPEN), len(ordered))
    stage = Stage.objects.create(pipeline=pipeline, kind=StageKind.OPEN, position=first_closed, **cleaned)
    ordered.insert(first_closed, stage)
    _renumber(pipeline, ordered)
    audit.record(AuditAction.CREATE, actor=actor, obj=stage,
                 changes={"pipeline": pipeline.name, "name": stage.name, "probability": stage.probability})
    return stage
