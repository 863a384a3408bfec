from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0001_imports"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="sheet",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="importjob",
            name="header_row",
            field=models.PositiveIntegerField(default=1),
        ),
    ]
