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


def bulk_insert(model, objs, names=None) -> None:
    """``Model.objects.bulk_create(objs)`` for a few rows on a hot path, as one plain
    INSERT … VALUES … RETURNING id on PostgreSQL; sets each object's pk.

    bulk_create's per-call Python work (about 1.5 ms here) outweighs the write of two or
    three rows (0.5 ms): the notification outbox adds this to every ticket write.
    names: the concrete fields to write (default: all but the auto pk); values go through
    each field's pre_save() and get_db_prep_save(), as bulk_create's do.
    """
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    meta = model._meta
    fields = _insert_fields(meta, names)
    sql = _insert_sql(meta, fields, len(objs))
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            _mark_saved(obj, pk)


def _insert_fields(meta, names) -> list:
    fields = [meta.get_field(n) for n in names] if names else meta.concrete_fields
    return [f for f in fields if f is not meta.pk]


def _insert_sql(meta, fields, count: int) -> str:
    qn = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Only identifiers from the model's metadata are interpolated; values are params.
    return (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * count)} RETURNING {qn(meta.pk.column)}"
    )


def _mark_saved(obj, pk) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
