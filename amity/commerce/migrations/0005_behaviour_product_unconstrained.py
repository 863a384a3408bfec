# A behaviour event's product keeps neither its foreign-key constraint nor its index (see BehaviourEvent.product).
# As in 0003 and 0004, Django's AlterField would rebuild the table on SQLite: there only the index is dropped (SQLite
# checks the constraint with one primary-key probe per row, which costs little); PostgreSQL drops both.

import django.db.models.deletion
from django.db import migrations, models

INDEX = "commerce_behaviourevent_product_id_0e83d07a"
CONSTRAINT = "commerce_behaviourevent_product_id_0e83d07a_fk_sales_product_id"


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "commerce_behaviourevent" DROP CONSTRAINT IF EXISTS "{CONSTRAINT}"')


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'ALTER TABLE "commerce_behaviourevent" ADD CONSTRAINT "{CONSTRAINT}" FOREIGN KEY ("product_id") '
            f'REFERENCES "sales_product" ("id") DEFERRABLE INITIALLY DEFERRED NOT VALID')


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0004_replay_index_summary_contact'),
        ('sales', '0006_deal_external_id'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='behaviourevent',
                    name='product',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name='+',
                                            to='sales.product'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "commerce_behaviourevent" ("product_id")',
                ),
                migrations.RunPython(drop_constraint, add_constraint),
            ],
        ),
    ]
