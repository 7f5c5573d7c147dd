"""Stage 4, retrieval: a question → the passages that most likely answer it.

``hybrid`` fuses a dense and a BM25 search of any store by reciprocal rank.
"""
