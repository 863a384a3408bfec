# The contact foreign key of BehaviourEvent loses its own index ("behaviour_contact" covers it). Only the index is
# dropped: Django's AlterField would rebuild the table on SQLite and re-check the key on PostgreSQL, which takes
# minutes on tens of millions of events.

import django.db.models.deletion
from django.db import migrations, models

INDEX = "commerce_behaviourevent_contact_id_6ee35bcb"


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0002_order_rate_visitor'),
        ('contacts', '0003_external_id_photo'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='behaviourevent',
                    name='contact',
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name='+',
                                            to='contacts.contact'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "commerce_behaviourevent" ("contact_id")',
                ),
            ],
        ),
    ]
