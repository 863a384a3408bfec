"""Users, teams, roles and API tokens."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.core import audit
from amity.core.models import AuditAction
from amity.core.normalize import clean_text, normalize_email
from amity.core.permissions import is_admin, require

from .models import ApiToken, Notification, Role, Team, TokenScope, User

TOKEN_PREFIX = "amy_"  # noqa: S105 (a public prefix, not a secret)


@transaction.atomic
def create_user(*, actor: Any, email: str, full_name: str, role: Role | str, password: str | None = None,
                team: Team | None = None, time_zone: str = "UTC", language: str = "en") -> User:
    if actor is not None:
        require(is_admin(actor), _("Only admins manage users."))
    try:
        email = normalize_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from None
    if not email:
        raise ValidationError({"email": [_("An email address is required.")]})
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": [_("A user with this email already exists.")]})
    role_obj = role if isinstance(role, Role) else Role.objects.get(key=role)
    user = User.objects.create_user(email=email, password=password, full_name=clean_text(full_name) or email,
                                    role=role_obj, team=team, time_zone=time_zone, language=language,
                                    is_staff=role_obj.is_admin)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    audit.record(AuditAction.CREATE, actor=actor, obj=user, changes={"email": email, "role": role_obj.key})
    return user


@transaction.atomic
def update_user_access(*, actor: Any, user: User, role: Role | None = None, team: Team | None | str = "",
                       is_active: bool | None = None) -> User:
    """Change a user's role, team or active flag (audited as a permission change)."""
    require(is_admin(actor), _("Only admins manage users."))
    before = {"role": user.role.key, "team": str(user.team) if user.team else None, "active": user.is_active}
    if role is not None:
        user.role = role
        user.is_staff = role.is_admin
    if team != "":
        user.team = team  # type: ignore[assignment]
    if is_active is not None:
        if user == actor and not is_active:
            raise ValidationError({"is_active": [_("You cannot deactivate yourself.")]})
        user.is_active = is_active
    user.save()
    after = {"role": user.role.key, "team": str(user.team) if user.team else None, "active": user.is_active}
    changes = audit.diff(before, after)
    if changes:
        audit.record(AuditAction.PERMISSION, actor=actor, obj=user, changes=changes)
    return user


@transaction.atomic
def update_role(*, actor: Any, role: Role, data: dict[str, Any]) -> Role:
    require(is_admin(actor), _("Only admins manage roles."))
    fields = ["visibility", "can_edit", "can_delete", "can_export", "is_admin"]
    before = audit.snapshot(role, fields)
    for field in fields:
        if field in data:
            setattr(role, field, data[field])
    if role.key == "admin" and not role.is_admin:
        raise ValidationError({"is_admin": [_("The Admin role must keep admin rights.")]})
    role.full_clean()
    role.save()
    changes = audit.diff(before, audit.snapshot(role, fields))
    if changes:
        audit.record(AuditAction.PERMISSION, actor=actor, obj=role, changes=changes)
    return role


def update_preferences(*, user: User, data: dict[str, Any]) -> User:
    """The user's own settings: name, time zone, language, theme."""
    from amity.contacts.services import TIME_ZONES

    errors: dict[str, list[str]] = {}
    if "full_name" in data:
        name = clean_text(data["full_name"])
        if not name:
            errors["full_name"] = [_("Your name cannot be empty.")]
        user.full_name = name[:150]
    if "time_zone" in data:
        if data["time_zone"] not in TIME_ZONES:
            errors["time_zone"] = [_("“%(value)s” is not a time zone.") % {"value": data["time_zone"]}]
        user.time_zone = data["time_zone"]
    if "language" in data:
        if data["language"] not in {"en", "zh-hans"}:
            errors["language"] = [_("Choose English or Simplified Chinese.")]
        user.language = data["language"]
    if "theme" in data:
        if data["theme"] not in {"system", "light", "dark"}:
            errors["theme"] = [_("Choose system, light or dark.")]
        user.theme = data["theme"]
    if errors:
        raise ValidationError(errors)
    user.save()
    return user


@transaction.atomic
def create_team(*, actor: Any, name: str) -> Team:
    require(is_admin(actor), _("Only admins manage teams."))
    name = clean_text(name)
    if not name:
        raise ValidationError({"name": [_("A team needs a name.")]})
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("A team with this name already exists.")]})
    team = Team.objects.create(name=name[:100])
    audit.record(AuditAction.CREATE, actor=actor, obj=team, changes={"name": team.name})
    return team


def send_set_password_email(*, user: User, base_url: str, invited_by: User | None = None) -> None:
    """Email ``user`` a link to choose a password, using Django's password-reset tokens.

    The token is bound to the current password hash and last login, so it stops working once used.
    ``base_url`` is the scheme and host the link points at (e.g. "https://crm.example.com").
    """
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode
    from django.utils.translation import override

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = base_url.rstrip("/") + reverse("accounts:password_reset_confirm", args=[uid, token])
    context = {"user": user, "link": link, "invited_by": invited_by}
    # The email goes out in the recipient's language, not the admin's.
    with override(user.language or "en"):
        subject = "".join(render_to_string("accounts/email/invite_subject.txt", context).splitlines())
        body = render_to_string("accounts/email/invite_body.txt", context)
    send_mail(subject, body, None, [user.email])


def invite_user(*, actor: Any, email: str, full_name: str, role: Role, team: Team | None, base_url: str) -> User:
    """Create a user without a usable password and email them a link to set one.

    The user is committed before the email is sent, so a mail failure leaves a user who can ask
    for a new link on the "Forgot password?" page; the caller reports the failure.
    """
    require(is_admin(actor), _("Only admins manage users."))
    if not clean_text(full_name):
        raise ValidationError({"full_name": [_("Enter the person's name.")]})
    user = create_user(actor=actor, email=email, full_name=full_name, role=role, team=team,
                       language=getattr(actor, "language", "en") or "en")
    send_set_password_email(user=user, base_url=base_url, invited_by=actor)
    return user


# --- API tokens ---------------------------------------------------------------------------------------------

@transaction.atomic
def create_api_token(*, user: User, name: str, scope: str = TokenScope.READ) -> tuple[ApiToken, str]:
    """Return the token and its secret. The secret is never stored or shown again."""
    name = clean_text(name)
    if not name:
        raise ValidationError({"name": [_("Name the token after what will use it, e.g. “Zapier”.")]})
    if scope not in TokenScope.values:
        raise ValidationError({"scope": [_("Choose read or write.")]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=secret[:12], digest=ApiToken.digest_of(secret),
                                    scope=scope)
    audit.record(AuditAction.CREATE, actor=user, obj=token, changes={"name": token.name, "scope": scope})
    return token, secret


@transaction.atomic
def revoke_api_token(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk and not actor.is_admin:
        raise ValidationError({"token": [_("You can only revoke your own tokens.")]})
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(AuditAction.UPDATE, actor=actor, obj=token, changes={"revoked": [False, True]})
    return token


def authenticate_token(secret: str) -> ApiToken | None:
    """The active token for ``secret`` (its user active too), recording when it was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    return active_by_secret(ApiToken, secret)


def active_by_secret(model: Any, secret: str) -> Any:
    """The unrevoked record of ``model`` whose stored SHA-256 ``digest`` matches ``secret`` and whose user is active
    (API tokens, calendar feeds), with its user and role, recording ``last_used_at`` at most once a minute so reads
    stay read-only."""
    statement, parts = _by_digest_statement(model, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(statement, [model.digest_of(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    record, user, role = (part.build(row) for part in parts)
    user.role = role
    record.user = user
    now = timezone.now()
    if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
        model.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
    return record


class _Columns:
    """One model's columns in a joined row: turned into an instance as the ORM would (its converters applied)."""

    def __init__(self, model: Any, alias: str, start: int) -> None:
        self.model, self.fields = model, model._meta.concrete_fields
        self.names = [f.attname for f in self.fields]
        self.at = slice(start, start + len(self.fields))
        self.sql = [f"{alias}.{connection.ops.quote_name(f.column)}" for f in self.fields]
        self.converters = []
        for f in self.fields:
            column = f.get_col(alias)
            self.converters.append([(c, column) for c in
                                    connection.ops.get_db_converters(column) + f.get_db_converters(connection)])

    def build(self, row: tuple[Any, ...]) -> Any:
        values = list(row[self.at])
        for i, converters in enumerate(self.converters):
            for convert, column in converters:
                values[i] = convert(values[i], column, connection)
        return self.model.from_db(connection.alias, self.names, values)


@cache
def _by_digest_statement(model: Any, vendor: str) -> tuple[str, tuple[_Columns, _Columns, _Columns]]:
    """The record, its user and the user's role by digest, in one statement built once per model: compiling the
    ORM's ``select_related`` query cost ~1.3 ms of every API request, more than the rest of a small request."""
    quote = connection.ops.quote_name
    record = _Columns(model, "r", 0)
    user = _Columns(User, "u", len(record.names))
    role = _Columns(Role, "o", len(record.names) + len(user.names))
    user_fk, role_fk = model._meta.get_field("user").column, User._meta.get_field("role").column
    statement = (f"SELECT {', '.join(record.sql + user.sql + role.sql)} "  # noqa: S608 (names from model metadata)
                 f"FROM {quote(model._meta.db_table)} r JOIN {quote(User._meta.db_table)} u ON u.id = r.{quote(user_fk)} "
                 f"JOIN {quote(Role._meta.db_table)} o ON o.id = u.{quote(role_fk)} "
                 "WHERE r.digest = %s AND r.revoked_at IS NULL AND u.is_active")
    return statement, (record, user, role)


# --- notifications -------------------------------------------------------------------------------------------

def mark_notifications_read(*, user: User, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
