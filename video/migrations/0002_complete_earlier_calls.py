from django.db import migrations


def schedule(apps, schema_editor):
    """Calls confirmed before calls completed themselves: let the completion task find them."""
    Call = apps.get_model("booking", "Call")
    if schema_editor.connection.schema_name == "public" or not Call.objects.filter(status="confirmed").exists():
        return
    from video.completion import completion_reschedule

    completion_reschedule()


class Migration(migrations.Migration):
    dependencies = [("video", "0001_initial"), ("booking", "0003_call_sequence_callparticipant_manage_key")]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
