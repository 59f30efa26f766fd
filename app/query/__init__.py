"""The read path: a QuerySpec from a request, the family that answers it, one SQL statement."""

from app.query.catalog import Catalog, CatalogCache
from app.query.execute import FigureRequest, figures, run, stream
from app.query.parse import resolve_filters, resolve_query
from app.query.result import QueryResult
from app.query.spec import DEFAULT_LIMIT, MAX_LIMIT, Filter, QuerySpec

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Catalog", "CatalogCache", "FigureRequest", "Filter",
           "QueryResult", "QuerySpec", "figures", "resolve_filters", "resolve_query", "run", "stream"]
