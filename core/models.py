from django.db import models


class DueWork(models.Model):
    """When a tenant next has periodic work of a kind (e.g. unpaid holds to release).

    Lives in the public schema, so the periodic dispatcher finds what is due with
    one indexed query instead of visiting every tenant's schema."""

    schema_name = models.CharField(max_length=63)
    kind = models.CharField(max_length=40)
    due_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["schema_name", "kind"], name="due_work_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} in {self.schema_name} at {self.due_at:%Y-%m-%d %H:%M}"
