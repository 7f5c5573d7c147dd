"""Language tools every stage shares: Chinese text → tokens, numbers, and English words → Chinese terms.

``tokens`` (bigrams, jieba words, years), ``numbers`` (Arabic and Chinese numerals), ``english``
(content words and stems) and ``lexicon`` (CC-CEDICT lookups).
"""
