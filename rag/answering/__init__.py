"""Stage 6, answering: passages and the analysed question → an Answer with verified citations.

``pipeline`` holds ``answer()`` and ``stream_answer()``: it retrieves, checks the evidence, asks an
LLM (``rag.llm``) or extracts (``extractive``, ``matching``, ``nearmiss``, ``phrasing``), and verifies
markers and numbers (``citations``). ``prompts`` renders the templates in ``prompts/``.
"""
