from django.db import migrations
from django.utils import timezone

STAGES = [
    # name, probability, kind
    ("Qualified", 10, "open"),
    ("Needs analysis", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]
LOST_REASONS = ["Price", "Timing", "Chose a competitor", "No budget", "No response", "Other"]


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    LostReason = apps.get_model("sales", "LostReason")
    if not Pipeline.objects.exists():
        pipeline = Pipeline.objects.create(name="Sales", position=0, is_default=True, created_at=timezone.now())
        for position, (name, probability, kind) in enumerate(STAGES):
            Stage.objects.create(pipeline=pipeline, name=name, probability=probability, kind=kind, position=position)
    for position, name in enumerate(LOST_REASONS):
        LostReason.objects.get_or_create(name=name, defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
