"""Set-based writes that Django's ORM makes costly at batch sizes."""

from django.db import connection


def bulk_update(model, objs, names) -> None:
    """``Model.objects.bulk_update(objs, names)``, as one UPDATE … FROM unnest() on PostgreSQL.

    Django's bulk_update builds a CASE WHEN per row and field: for a few hundred rows its
    Python work costs more than the write itself (the escalation sweep, the mail batches).
    """
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, names)
        return
    qn = connection.ops.quote_name
    pk = model._meta.pk
    fields = [model._meta.get_field(name) for name in names]
    columns = [pk, *fields]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
    aliases = ", ".join(qn(f.column) for f in columns)
    assignments = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in fields)
    # Only identifiers and types from the model's metadata are interpolated; values are params.
    sql = (
        f"UPDATE {qn(model._meta.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM unnest({arrays}) AS v({aliases}) WHERE t.{qn(pk.column)} = v.{qn(pk.column)}"
    )
    params = [
        [f.get_db_prep_value(getattr(obj, f.attname), connection) for obj in objs] for f in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
