# The replay index leads with external_id (see BehaviourEvent.Meta), and ProductViewSummary's contact key loses its
# own index (two indexes lead with it). As in 0003, only that index is dropped: Django's AlterField would rebuild
# the table on SQLite.

import django.db.models.deletion
from django.db import migrations, models

INDEX = "commerce_productviewsummary_contact_id_c4baaf8e"


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0003_behaviour_contact_one_index'),
        ('contacts', '0003_external_id_photo'),
    ]

    operations = [
        migrations.RemoveConstraint(model_name='behaviourevent', name='behaviour_external_unique'),
        migrations.AddConstraint(
            model_name='behaviourevent',
            constraint=models.UniqueConstraint(condition=models.Q(('external_id', ''), _negated=True),
                                               fields=('external_id', 'source'), name='behaviour_external_unique'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='productviewsummary',
                    name='contact',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='+', to='contacts.contact'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "commerce_productviewsummary" ("contact_id")',
                ),
            ],
        ),
    ]
