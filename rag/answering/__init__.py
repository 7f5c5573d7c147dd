"""Stage 6, answering: passages and the analysed question → an Answer with verified citations.

``pipeline`` holds ``answer()`` and ``stream_answer()``: it retrieves, checks the evidence, asks an
LLM (``rag.llm``) or extracts (``selection`` ranks the units, ``extractive`` and ``compose`` cut the answer,
``nearmiss``, ``years`` and ``phrasing`` tell what is missing or restate), and verifies
markers and numbers (``citations``). ``prompts`` renders the templates in ``prompts/``.
"""
