"""The web page over the rag library: ``rag ui`` or ``python -m ui``."""
