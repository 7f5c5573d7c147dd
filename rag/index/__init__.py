"""Stage 3, index: chunks and their vectors → a saved, searchable store.

``base`` is the one store interface; ``faiss_store`` (generation folders, the default) and
``milvus_store`` implement it, and ``stores.open_store`` picks one from the settings. ``bm25`` and
``sparse`` are the keyword statistics, ``facts`` the figures table built at ingest, and
``ingestion`` decides what changed and commits it to whichever store is configured.
"""
