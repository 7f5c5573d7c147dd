"""The benchmark: ingestion, query latency, vector search at scale and a LangChain baseline (``python -m bench``)."""
