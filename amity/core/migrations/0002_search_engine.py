from django.db import migrations


def install(apps, schema_editor):
    from amity.core.search import install_engine

    install_engine(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
