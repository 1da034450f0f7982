"""The one module that uses ``langchain-community`` (sunset upstream; replaceable).

Code written after the book saves its index with ``langchain_community.vectorstores.FAISS``,
whose docstore is a pickle and whose relevance scores are wrong for inner-product indexes.
:func:`import_community_faiss` moves such an index into a :class:`KlueFAISS` — only when the
caller vouches for the file, since unpickling runs code.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from lc_klue.errors import RetrievalError
from lc_klue.retrieval.faiss_store import KlueFAISS


def import_community_faiss(
    folder: str | Path,
    embedding: Embeddings,
    *,
    index_name: str = "index",
    allow_dangerous_deserialization: bool = False,
    index_type: str = "flat",
) -> KlueFAISS:
    """Read a ``FAISS.save_local`` folder and re-index its passages with ``embedding``.

    The passages are embedded again (normalised, cosine), so the new index is right whatever
    distance strategy the old one used. Duplicate passages are dropped; metadata is kept and
    gains ``context_id``.
    """
    root = Path(folder).expanduser()
    if not (root / f"{index_name}.faiss").is_file() or not (root / f"{index_name}.pkl").is_file():
        raise RetrievalError(
            f"{root}: not a langchain-community FAISS folder "
            f"({index_name}.faiss and {index_name}.pkl expected)"
        )
    if not allow_dangerous_deserialization:
        raise RetrievalError(
            f"{root / (index_name + '.pkl')} is a pickle, and loading it can run code. Pass "
            "allow_dangerous_deserialization=True only for a file you created yourself."
        )
    with warnings.catch_warnings():
        # Its import announces the sunset this module exists to contain; nothing to act on.
        warnings.filterwarnings(
            "ignore", message=".*langchain-community.*sunset", category=DeprecationWarning
        )
        from langchain_community.vectorstores import FAISS

    old = FAISS.load_local(str(root), embedding, index_name, allow_dangerous_deserialization=True)
    docs = [old.docstore.search(i) for i in old.index_to_docstore_id.values()]
    docs = [d for d in docs if isinstance(d, Document)]
    return KlueFAISS.from_mrc(docs, embedding, index_type=index_type)
