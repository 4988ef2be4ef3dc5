"""The SOQL engine of the emulated org: parse a statement, run it against a data source.

    from emulators.salesforce.soql import execute, parse, QuerySource, QueryResult

``parse`` turns text into an immutable ``ast.Query`` (MALFORMED_QUERY on bad syntax);
``execute`` resolves it against the caller's view of the org (``QuerySource``) and returns
the complete, REST-shaped records. Paging into batches is the caller's job.
"""

from .ast import Query
from .evaluator import QueryResult, execute
from .parser import parse
from .resolve import QuerySource

__all__ = ["Query", "QueryResult", "QuerySource", "execute", "parse"]
