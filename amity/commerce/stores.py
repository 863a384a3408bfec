"""Stores that send data to Amity: websites carrying the tracking snippet and platforms posting signed webhooks.

Writes (create, update, regenerate the secret, deactivate/reactivate) are admin-only, validated, in one
transaction and audited; the secret never enters the audit trail. Reads for the settings pages are admin-only
too (stores are workspace-wide). The public endpoints find a store by its public key or uuid: the key (snippet)
or the HMAC signature (webhooks) is the credential there, not a user.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from amity.commerce.models import Store, StoreKind
from amity.core import audit
from amity.core.normalize import clean_text
from amity.core.permissions import is_admin, require

AUDITED = ["name", "kind", "allowed_origins", "require_consent", "active", "mapping"]
WEBHOOK_KINDS = {StoreKind.SHOPIFY, StoreKind.WOOCOMMERCE, StoreKind.GENERIC}
MAX_ORIGINS = 50


def new_public_key() -> str:
    """The key a page carries in the snippet (not a secret: it only lets a browser send events)."""
    return "pk_" + secrets.token_hex(12)


def new_secret() -> str:
    """The HMAC key a platform signs its webhooks with."""
    return "whsec_" + secrets.token_urlsafe(32)


def _require_admin(actor: Any) -> None:
    require(is_admin(actor), _("Only admins can manage stores."))


def clean_origins(value: Any) -> str:
    """One origin per line (or comma-separated): ``https://shop.example.com[:port]``; stored normalised."""
    origins: list[str] = []
    for raw in str(value or "").replace(",", "\n").splitlines():
        item = raw.strip().rstrip("/")
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path or parts.query \
                or parts.fragment or parts.username or parts.password:
            raise ValidationError({"allowed_origins": [
                _("“%(value)s” is not an origin; write it like https://shop.example.com (scheme and host, "
                  "no path).") % {"value": item[:100]}]})
        origin = f"{parts.scheme}://{parts.hostname.lower()}" + (f":{parts.port}" if parts.port else "")
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise ValidationError({"allowed_origins": [
            _("At most %(n)s origins per store.") % {"n": MAX_ORIGINS}]})
    return "\n".join(origins)


def origin_allowed(store: Store, origin: str | None) -> bool:
    """Empty list = any origin. A request without an Origin header (server-to-server) is allowed."""
    allowed = [o for o in store.allowed_origins.splitlines() if o]
    if not allowed or not origin:
        return True
    return origin.rstrip("/").lower() in allowed


def _clean(data: dict[str, Any], *, store: Store | None) -> dict[str, Any]:
    from amity.commerce.adapters import validate_mapping

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if store is None or "name" in data:
        name = clean_text(data.get("name"))
        if not name:
            errors["name"] = [_("Give the store a name.")]
        elif len(name) > 100:
            errors["name"] = [_("At most 100 characters.")]
        cleaned["name"] = name
    if store is None:
        kind = str(data.get("kind") or "")
        if kind not in StoreKind.values:
            errors["kind"] = [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(StoreKind.values)}]
        cleaned["kind"] = kind
    kind = cleaned.get("kind") or (store.kind if store else "")
    if "allowed_origins" in data:
        try:
            cleaned["allowed_origins"] = clean_origins(data["allowed_origins"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "require_consent" in data:
        cleaned["require_consent"] = bool(data["require_consent"])
    if "mapping" in data:
        if kind != StoreKind.GENERIC:
            if data["mapping"]:
                errors["mapping"] = [_("Only generic webhook stores have a mapping.")]
        else:
            try:
                cleaned["mapping"] = validate_mapping(data["mapping"])
            except ValidationError as exc:
                errors.setdefault("mapping", []).extend(exc.messages)
    if data.get("secret"):
        if kind not in WEBHOOK_KINDS:
            errors["secret"] = [_("Only webhook stores have a signing secret.")]
        else:
            secret = str(data["secret"]).strip()
            if len(secret) < 16 or len(secret) > 128 or any(c.isspace() for c in secret):
                errors["secret"] = [_("A signing secret has 16 to 128 characters and no spaces.")]
            cleaned["secret"] = secret
    if errors:
        raise ValidationError(errors)
    return cleaned


def create_store(*, actor: Any, data: dict[str, Any]) -> Store:
    """``data``: name, kind, and optionally allowed_origins, require_consent, mapping (generic), secret
    (a platform-chosen signing key, e.g. Shopify's; generated otherwise)."""
    _require_admin(actor)
    cleaned = _clean(data, store=None)
    store = Store(
        name=cleaned["name"], kind=cleaned["kind"], public_key=new_public_key(),
        allowed_origins=cleaned.get("allowed_origins", ""),
        require_consent=cleaned.get("require_consent", True),
        mapping=cleaned.get("mapping", {}),
        secret=(cleaned.get("secret") or new_secret()) if cleaned["kind"] in WEBHOOK_KINDS else "",
        created_by=actor,
    )
    with transaction.atomic():
        store.save()
        audit.record("create", actor=actor, obj=store, changes=audit.snapshot(store, AUDITED))
    return store


def update_store(*, actor: Any, store: Store, data: dict[str, Any]) -> Store:
    """Change name, allowed origins, consent flag, mapping (generic) or paste a platform's signing secret."""
    _require_admin(actor)
    cleaned = _clean(data, store=store)
    with transaction.atomic():
        before = audit.snapshot(store, AUDITED)
        for field, value in cleaned.items():
            setattr(store, field, value)
        store.save()
        changes = audit.diff(before, audit.snapshot(store, AUDITED))
        if "secret" in cleaned:
            changes["secret"] = ["•••", _("replaced")]
        if changes:
            audit.record("update", actor=actor, obj=store, changes=changes)
    return store


def regenerate_secret(*, actor: Any, store: Store) -> Store:
    """A new signing secret; the old one stops working at once (paste the new one into the platform)."""
    _require_admin(actor)
    if store.kind not in WEBHOOK_KINDS:
        raise ValidationError({"secret": [_("Only webhook stores have a signing secret.")]})
    with transaction.atomic():
        store.secret = new_secret()
        store.save(update_fields=["secret", "updated_at"])
        audit.record("update", actor=actor, obj=store, changes={"secret": ["•••", _("regenerated")]})
    return store


def set_store_active(*, actor: Any, store: Store, active: bool) -> Store:
    """Deactivate (its snippet and webhooks are refused from now on, 403) or reactivate a store."""
    _require_admin(actor)
    if store.active == active:
        return store
    with transaction.atomic():
        store.active = active
        store.save(update_fields=["active", "updated_at"])
        audit.record("update", actor=actor, obj=store, changes={"active": [not active, active]})
    return store


# --- reads ------------------------------------------------------------------------------------------------------

def store_list(user: Any) -> list[Store]:
    _require_admin(user)
    return list(Store.objects.order_by("-active", "name", "id"))


def get_store(user: Any, uuid: Any) -> Store:
    _require_admin(user)
    try:
        return Store.objects.get(uuid=uuid)
    except (Store.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def store_by_public_key(key: str) -> Store | None:
    if not key or len(key) > 40:
        return None
    return Store.objects.filter(public_key=key).first()


def store_by_uuid(uuid: Any) -> Store | None:
    try:
        return Store.objects.filter(uuid=uuid).first()
    except (ValueError, ValidationError):
        return None


def demo_store() -> Store | None:
    """The snippet store the demo shop page uses: an active one named "Demo store", else the first active one."""
    stores = Store.objects.filter(kind=StoreKind.SNIPPET, active=True)
    return stores.filter(name__iexact="Demo store").first() or stores.order_by("id").first()
