# A behaviour event's contact keeps its index but loses its foreign-key constraint on PostgreSQL, where the
# constraint's per-row check at commit cost ~12 µs an event (see BehaviourEvent.contact; ingest checks a batch's
# contacts once instead). As in 0005, Django's AlterField would rebuild the table on SQLite: there the constraint
# stays (SQLite checks it with one primary-key probe per row, which costs little).

import django.db.models.deletion
from django.db import migrations, models

CONSTRAINT = "commerce_behaviourev_contact_id_6ee35bcb_fk_contacts_"


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "commerce_behaviourevent" DROP CONSTRAINT IF EXISTS "{CONSTRAINT}"')


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'ALTER TABLE "commerce_behaviourevent" ADD CONSTRAINT "{CONSTRAINT}" FOREIGN KEY ("contact_id") '
            f'REFERENCES "contacts_contact" ("id") DEFERRABLE INITIALLY DEFERRED NOT VALID')


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0005_behaviour_product_unconstrained'),
        ('contacts', '0003_external_id_photo'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='behaviourevent',
                    name='contact',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name='+',
                                            to='contacts.contact'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_constraint, add_constraint)],
        ),
    ]
