"""lc-klue: Korean retrieval models trained on your data, as LangChain components."""

from lc_klue.errors import DataError, LcKlueError, ModelError, RetrievalError

__version__ = "0.1.0"

__all__ = ["DataError", "LcKlueError", "ModelError", "RetrievalError", "__version__"]
