"""Stage 5, question: the question text (and the chat history) → what it asks for.

``analysis`` finds the answer type, terms, years and entities, and rewrites follow-ups;
``multifact`` and ``compare`` split questions that ask several things; ``units`` tells which
kind of figure a count question wants.
"""
