"""Set-based writes that Django's ORM makes costly at batch sizes."""

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model


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
    arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in columns)
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
    with binding_cursor() as cursor:
        cursor.execute(sql, params)


# Measured (benchmarks/bench_outbox.py's rows): VALUES is quicker for 2 rows, even at 10, and
# a third slower at 50, where its one parameter per value outweighs unnest()'s arrays.
UNNEST_FROM = 20


def bulk_insert(model, objs, names=None) -> None:
    """``Model.objects.bulk_create(objs)`` on PostgreSQL without its per-call and per-value
    Python work; sets each object's pk.

    A few rows (the outbox on every ticket write) go as one INSERT … VALUES … RETURNING id; a
    large batch (the sweep's notices) as one INSERT … SELECT FROM unnest(), one array per
    column. names: the concrete fields to write (default: all but the auto pk).
    """
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    meta = model._meta
    if len(objs) >= UNNEST_FROM:
        names = names or [f.name for f in meta.concrete_fields if f is not meta.pk]
        rows = insert_unnest(model, objs, names, tail=f"RETURNING {_qn(meta.pk.column)}")
    else:
        fields = _insert_fields(meta, names)
        params = [
            f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(meta, fields, len(objs)), params)
            rows = cursor.fetchall()
    # PostgreSQL returns the rows of one INSERT in the order it inserts them, the source's.
    for obj, (pk,) in zip(objs, rows, strict=True):
        mark_saved(obj, pk)


def insert_unnest(
    model: type[Model],
    objs: Sequence[Model],
    names: Sequence[str],
    *,
    constants: dict[str, str] | None = None,
    tail: str = "",
) -> list[tuple[Any, ...]]:
    """INSERT … SELECT FROM unnest(one array per column), PostgreSQL only: one statement and
    one parameter per column whatever the row count. Returns the RETURNING rows, if the tail
    asks for some.

    constants: column name -> SQL expression, the same for every row (never user input).
    """
    columns = {name: column_values(_concrete(model, name), objs) for name in names}
    return insert_columns(model, columns, constants=constants, tail=tail)


def insert_columns(
    model: type[Model],
    columns: dict[str, list[Any]],
    *,
    constants: dict[str, str] | None = None,
    tail: str = "",
) -> list[tuple[Any, ...]]:
    """insert_unnest() from the columns' values themselves (field name -> one list per
    column, equal lengths, values as column_values() gives them): for rows that are no model
    instances, whose Model.__init__ would cost more than their write. Below UNNEST_FROM rows,
    one INSERT … VALUES instead (a ticket's few outbox rows): its arrays' set-up costs more
    than a few rows' values."""
    fields = [_concrete(model, name) for name in columns]
    constants = constants or {}
    names = ", ".join([_qn(str(f.column)) for f in fields] + [_qn(name) for name in constants])
    extra = "".join(f", {value}" for value in constants.values())
    count = len(next(iter(columns.values()), []))
    if count < UNNEST_FROM:
        row = "(" + ", ".join(["%s"] * len(fields)) + extra + ")"
        # Only identifiers and the caller's constants are interpolated; values are params.
        sql = (
            f"INSERT INTO {_qn(model._meta.db_table)} ({names}) "  # noqa: S608
            f"VALUES {', '.join([row] * count)} {tail}"
        )
        params = [value for values in zip(*columns.values(), strict=True) for value in values]
        cursor = connection.cursor()
    else:
        arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
        # Only identifiers, types and the caller's constants are interpolated; values are params.
        sql = (
            f"INSERT INTO {_qn(model._meta.db_table)} ({names}) "  # noqa: S608
            f"SELECT v.*{extra} FROM unnest({arrays}) AS v {tail}"
        )
        params = list(columns.values())
        cursor = binding_cursor()
    with cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if "RETURNING" in tail else []


def binding_cursor():
    """A cursor on Django's connection that binds its parameters on the server (%b: binary).

    Django's cursors bind on the client: each array element is quoted into the SQL text in
    Python (psycopg's ListDumper, a regular expression per element), which was a quarter of
    the escalation sweep's time. Bound in binary, psycopg's C dumpers write the arrays. The
    cursor is wrapped as connection.cursor() wraps its own: the same error translation,
    query logging (assertNumQueries, CaptureQueriesContext) and execute_wrappers."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    connection.validate_thread_sharing()
    cursor = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def column_values(field: Field[Any, Any], objs: Sequence[Model]) -> list[Any]:
    """A column's values as bulk_create would write them, without its per-value calls where
    psycopg takes the Python value as it is."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return [field.pre_save(obj, True) for obj in objs]
    values = [getattr(obj, field.attname) for obj in objs]
    if field.get_internal_type() == "JSONField":  # psycopg needs its Jsonb wrapper
        values = [field.get_db_prep_save(v, connection) for v in values]
    return values


def _concrete(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    # A reverse relation is no Field; a relation without a column of its own has none.
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert_fields(meta, names) -> list:
    fields = [meta.get_field(n) for n in names] if names else meta.concrete_fields
    return [f for f in fields if f is not meta.pk]


def _insert_sql(meta, fields, count: int) -> str:
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Only identifiers from the model's metadata are interpolated; values are params.
    return (
        f"INSERT INTO {_qn(meta.db_table)} ({', '.join(_qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * count)} RETURNING {_qn(meta.pk.column)}"
    )


def mark_saved(obj, pk) -> None:
    """What Model.save() leaves on an object it inserted: its pk, saved to this database."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


# The rows of a few-row INSERT as one JSON parameter (json_rows, json_source): Django binds
# parameters on the client, in Python, and that per-parameter work (an array's per element)
# cost more than building and parsing one JSON text; bulk_insert()'s VALUES take one
# parameter per value, insert_unnest()'s one array per column.
_AS_IS, _MOMENT, _STAMP, _JSON, _PREP = range(5)
_PLAIN_TYPES = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "URLField",
}


@cache
def _json_columns(model, skip: tuple[str, ...] = ()) -> list[tuple[str, str, int, Any]]:
    """(column, attname, how, field) of the columns a JSON row carries: the concrete fields
    but the pk and those named in skip."""
    meta = model._meta
    columns = []
    for f in meta.concrete_fields:
        if f is meta.pk or f.name in skip:
            continue
        kind = f.get_internal_type()
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            how = _STAMP
        elif kind == "JSONField":
            how = _JSON
        elif kind in ("DateTimeField", "DateField", "TimeField"):
            how = _MOMENT
        elif kind in _PLAIN_TYPES:
            how = _AS_IS
        else:
            how = _PREP
        columns.append((str(f.column), f.attname, how, f))
    return columns


def json_rows(model, objs: Sequence[Model], skip: tuple[str, ...] = (), numbers=None) -> str:
    """The objects as a JSON array of {column: value}, valued as bulk_create() writes them
    (auto_now stamps set on the objects, times in ISO 8601, a JSON field as its encoder's
    text), each with "_pos", its place in objs, and with numbers given, "_n", its number."""
    columns = _json_columns(model, skip)
    rows = []
    for pos, obj in enumerate(objs):
        row: dict[str, Any] = {"_pos": pos}
        if numbers is not None:
            row["_n"] = numbers[pos]
        for column, attname, how, f in columns:
            if how == _AS_IS:
                row[column] = getattr(obj, attname)
            elif how == _MOMENT:
                value = getattr(obj, attname)
                row[column] = value.isoformat() if value is not None else None
            elif how == _STAMP:
                row[column] = f.pre_save(obj, True).isoformat()
            elif how == _JSON:
                value = getattr(obj, attname)
                row[column] = json.dumps(value, cls=f.encoder) if value is not None else None
            else:
                row[column] = f.get_db_prep_save(getattr(obj, attname), connection)
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False, default=str)


def json_source(model, skip: tuple[str, ...] = (), *extra: str) -> tuple[str, str, str]:
    """For SQL that reads json_rows(model, …, skip): the column names, the values to select
    (from v) and the FROM item that reads the parameter; extra: more "name type" columns of
    the rows ("_pos" is there already)."""
    columns = _json_columns(model, skip)
    types = [
        f"{_qn(column)} {'text' if how == _JSON else f.db_type(connection)}"
        for column, _attname, how, f in columns
    ]
    names = ", ".join(_qn(column) for column, *_rest in columns)
    values = ", ".join(
        f"v.{_qn(column)}::jsonb" if how == _JSON else f"v.{_qn(column)}"
        for column, _attname, how, _f in columns
    )
    definition = ", ".join(['"_pos" bigint', *extra, *types])
    return names, values, f"json_to_recordset(%s::json) AS v({definition})"


def insert_json(model, objs: Sequence[Model]) -> None:
    """bulk_insert() for a few rows on PostgreSQL, from one JSON parameter; sets each
    object's pk (PostgreSQL returns the rows of one INSERT in the order it inserts them)."""
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        bulk_insert(model, objs)
        return
    with connection.cursor() as cursor:
        cursor.execute(_insert_json_sql(model), [json_rows(model, objs)])
        rows = cursor.fetchall()
    for obj, (pk,) in zip(objs, rows, strict=True):
        mark_saved(obj, pk)


@cache
def _insert_json_sql(model) -> str:
    names, values, source = json_source(model)
    # Only identifiers and types from the model's metadata are interpolated.
    return (
        f"INSERT INTO {_qn(model._meta.db_table)} ({names}) "  # noqa: S608
        f"SELECT {values} FROM {source} ORDER BY v._pos RETURNING {_qn(model._meta.pk.column)}"
    )
