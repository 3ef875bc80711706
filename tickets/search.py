"""The one ticket search: portal list (`q`), API (`?search=`) and admin (`?q=`).

On PostgreSQL a ticket's `search_vector` holds its reference and subject (weight A), its
description and public comments (weight B), each in the `simple`, `english` and `french`
configurations, so a French or an English word matches in any form and a code or a name
matches as typed. Triggers created by migration 0007_ticket_search keep it current on every
ticket insert, subject/description change and comment write, whatever path wrote the row
(services, mail batches, bulk loads). A term matches through `websearch_to_tsquery` in the
three configurations (GIN index), or as a substring of the subject (pg_trgm index, for
partial words); results are ranked. SQLite keeps a plain substring match.
"""

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections, migrations
from django.db.models import F, Lookup, Q
from django.db.models.fields import CharField

from core.paging import estimate

from .references import pk_from_reference

CONFIGS = ("simple", "english", "french")
# Ranking reads every match's vector: above this many matches the list stays newest first.
RANK_LIMIT = 500
# Fewer characters than a trigram: a substring test could not use the index.
MIN_SUBSTRING = 3


@CharField.register_lookup
class ILike(Lookup):
    """`subject__ilike`: ILIKE, which the pg_trgm index serves (icontains' UPPER() does not)."""

    lookup_name = "ilike"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_query(term: str) -> SearchQuery:
    query = SearchQuery(term, search_type="websearch", config=CONFIGS[0])
    for config in CONFIGS[1:]:
        query |= SearchQuery(term, search_type="websearch", config=config)
    return query


def search_tickets(queryset, term: str, *, rank: bool = True, also: Q | None = None):
    """Tickets matching `term` (or the extra condition `also`), best first when few match.

    A reference ("CS-000123") is an exact match; bare digits also match the ticket number.
    `also` must be a condition on the ticket row (e.g. `reporter_id__in=[...]`), so the
    database can still answer the whole OR from indexes.
    """
    term = (term or "").replace("\x00", "").strip()
    if not term:
        return queryset
    pk = pk_from_reference(term)
    if pk:
        return queryset.filter(pk=pk)
    match = also or Q()
    if term.isdigit() and len(term) <= 12:
        match |= Q(pk=int(term))
    if connections[queryset.db].vendor != "postgresql":
        return queryset.filter(match | Q(subject__icontains=term) | Q(description__icontains=term))
    query = text_query(term)
    match |= Q(search_vector=query)
    if len(term) >= MIN_SUBSTRING:
        match |= Q(subject__ilike=like_pattern(term))
    found = queryset.filter(match)
    return _ranked(found, query) if rank else found


def _ranked(queryset, query):
    """Order by relevance when that is cheap (few matches); newest first otherwise.

    The planner's estimate settles common terms without reading a row; for the others the
    index finds whether more than RANK_LIMIT match.
    """
    if estimate(queryset) > RANK_LIMIT:
        return queryset
    if queryset[RANK_LIMIT : RANK_LIMIT + 1].exists():
        return queryset
    rank = SearchRank(F("search_vector"), query)
    return queryset.annotate(search_rank=rank).order_by("-search_rank", "-received_at", "-id")


# --- the database side (migration 0007_ticket_search) -------------------------------------

DOCUMENT_FUNCTION = """
CREATE OR REPLACE FUNCTION tickets_document(reference text, subject text, body text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('simple', reference || ' ' || subject), 'A')
      || setweight(to_tsvector('english', subject), 'A')
      || setweight(to_tsvector('french', subject), 'A')
      || setweight(to_tsvector('simple', body), 'B')
      || setweight(to_tsvector('english', body), 'B')
      || setweight(to_tsvector('french', body), 'B')
$$;

CREATE OR REPLACE FUNCTION tickets_ticket_vector(ticket_id bigint, subject text, description text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT tickets_document(
    'CS-' || lpad(ticket_id::text, 6, '0'),
    subject,
    description || ' ' || coalesce(
      (SELECT string_agg(c.body, ' ' ORDER BY c.id) FROM tickets_comment c
        WHERE c.ticket_id = $1 AND NOT c.internal),
      ''
    )
  )
$$;
"""

TRIGGERS = """
CREATE OR REPLACE FUNCTION tickets_ticket_search_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.search_vector IS NULL
     OR NEW.subject IS DISTINCT FROM OLD.subject
     OR NEW.description IS DISTINCT FROM OLD.description THEN
    NEW.search_vector := tickets_ticket_vector(NEW.id, NEW.subject, NEW.description);
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER tickets_ticket_search BEFORE INSERT OR UPDATE ON tickets_ticket
  FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search_trigger();

CREATE OR REPLACE FUNCTION tickets_comment_search_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE tickets_ticket t
     SET search_vector = tickets_ticket_vector(t.id, t.subject, t.description)
   WHERE t.id IN (SELECT ticket_id FROM changed_comments);
  RETURN NULL;
END $$;

CREATE TRIGGER tickets_comment_search_insert AFTER INSERT ON tickets_comment
  REFERENCING NEW TABLE AS changed_comments
  FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_trigger();
CREATE TRIGGER tickets_comment_search_update AFTER UPDATE ON tickets_comment
  REFERENCING NEW TABLE AS changed_comments
  FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_trigger();
CREATE TRIGGER tickets_comment_search_delete AFTER DELETE ON tickets_comment
  REFERENCING OLD TABLE AS changed_comments
  FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_trigger();
"""

DROP = """
DROP TRIGGER IF EXISTS tickets_comment_search_delete ON tickets_comment;
DROP TRIGGER IF EXISTS tickets_comment_search_update ON tickets_comment;
DROP TRIGGER IF EXISTS tickets_comment_search_insert ON tickets_comment;
DROP TRIGGER IF EXISTS tickets_ticket_search ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_comment_search_trigger();
DROP FUNCTION IF EXISTS tickets_ticket_search_trigger();
DROP FUNCTION IF EXISTS tickets_ticket_vector(bigint, text, text);
DROP FUNCTION IF EXISTS tickets_document(text, text, text);
"""

# Fills every vector in one pass (after a bulk load with the triggers off, or the migration).
REBUILD = """
UPDATE tickets_ticket SET search_vector = tickets_ticket_vector(id, subject, description)
"""


class PostgresOnly(migrations.operations.base.Operation):
    """Runs `operation` on PostgreSQL only, while always recording it in the migration state.

    `make run` migrates SQLite, which has no GIN indexes, extensions or PL/pgSQL triggers.
    """

    reduces_to_sql = False

    def __init__(self, operation):
        self.operation = operation
        self.reversible = operation.reversible

    def deconstruct(self):
        return self.__class__.__qualname__, [self.operation], {}

    def describe(self):
        return f"{self.operation.describe()} (PostgreSQL only)"

    def state_forwards(self, app_label, state):
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)
