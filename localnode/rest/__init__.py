"""REST handlers of the embedded engine; importing the package registers every route."""

from localnode.rest import aliases, bulk, cluster, documents, indices, search, tasks  # noqa: F401
from localnode.rest import ltr  # noqa: F401,E402  (Learning to Rank plugin API)
