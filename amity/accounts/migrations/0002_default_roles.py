from django.db import migrations

DEFAULT_ROLES = [
    # key, name, visibility, can_edit, can_delete, can_export, is_admin
    ("admin", "Admin", "all", True, True, True, True),
    ("manager", "Manager", "all", True, True, True, False),
    ("sales", "Sales", "team", True, False, False, False),
    ("marketing", "Marketing", "all", True, False, True, False),
    ("support", "Support", "all", True, False, False, False),
    ("readonly", "Read-only", "all", False, False, False, False),
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for position, (key, name, visibility, can_edit, can_delete, can_export, is_admin) in enumerate(DEFAULT_ROLES):
        Role.objects.update_or_create(key=key, defaults={
            "name": name, "visibility": visibility, "can_edit": can_edit, "can_delete": can_delete,
            "can_export": can_export, "is_admin": is_admin, "position": position,
        })


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
