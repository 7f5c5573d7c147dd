"""``rag serve``: the RAG as a service: an OpenAI-compatible chat API with citations, a documents API, and the page.

One job per module: ``app`` (the ASGI app), ``chat`` (``/v1``), ``documents`` and ``uploads`` (``/api/documents``),
``runner`` (answers on worker threads), ``schemas``, ``errors``, ``auth``, ``guard`` (host, key, body size),
``command`` (the ``rag serve`` command) and ``bench`` (its latency figures).
"""
