"""Ingest one huge generated Chinese text file and report time and peak memory per stage.

    python bench/bigfile.py --mb 30            # fast stand-in embedder: the cost of everything else
    python bench/bigfile.py --mb 5 --real      # the real embedding model as well

Each stage runs in a fresh process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COMMON = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"
          "十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞")


def make_text(target: Path, mb: float, shape: str = "paragraphs", seed: int = 7) -> Path:
    """Random sentences: paragraphs (some hard-wrapped, some headings), or one hard-wrapped block."""
    if shape == "wrapped":  # a text export without blank lines: every line cut at 38 characters
        flat = make_text(target, mb, "paragraphs", seed).read_text(encoding="utf-8").replace("\n", "")
        target.write_text("\n".join(flat[i:i + 38] for i in range(0, len(flat), 38)), encoding="utf-8")
        return target
    rng = random.Random(seed)
    size, parts = 0, []
    while size < mb * 1024 * 1024:
        sentences = []
        for _ in range(rng.randint(2, 8)):
            words = "".join(rng.choice(COMMON) for _ in range(rng.randint(8, 40)))
            sentences.append(words + rng.choice("。。。，；！？"))
        paragraph = "".join(sentences)
        if rng.random() < 0.3:  # hard-wrapped at 38 characters, like a PDF export
            paragraph = "\n".join(paragraph[i:i + 38] for i in range(0, len(paragraph), 38))
        if rng.random() < 0.05:
            paragraph = f"第{rng.randint(1, 99)}节 {paragraph[:10]}\n\n{paragraph}"
        block = paragraph + "\n\n"
        parts.append(block)
        size += len(block.encode("utf-8"))
    target.write_text("".join(parts), encoding="utf-8")
    return target


STAGE = r"""
import json, resource, sys, time
from pathlib import Path
stage, path, index, real = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "1"
t0 = time.perf_counter()
out = {}
if stage == "load":
    from rag.documents.loaders import load_document
    doc = load_document(path, max_bytes=50 * 1024 * 1024 + 1)
    out["chars"] = len(doc.text)
elif stage == "chunk":
    from rag.documents.loaders import load_document
    from rag.documents.chunking import split_document
    doc = load_document(path, max_bytes=50 * 1024 * 1024 + 1)
    t0 = time.perf_counter()
    out["chunks"] = len(split_document(doc, 500, 100))
else:
    from rag.index.ingestion import ingest
    from rag.settings import Settings
    from tests.fakes import FakeEmbedder
    settings = Settings(index_dir=index, max_file_mb=50)
    report = ingest([path], settings=settings, embedder=None if real else FakeEmbedder())
    out.update(chunks=report.total_chunks, embed_seconds=round(report.embed_seconds, 2))
out["seconds"] = round(time.perf_counter() - t0, 2)
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(out))
"""


def run_stage(stage: str, path: Path, index: Path, real: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", STAGE, stage, str(path), str(index), "1" if real else "0"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=30.0, help="size of the generated file")
    parser.add_argument("--real", action="store_true", help="embed with the real model (slow)")
    parser.add_argument("--stages", default="load,chunk,ingest")
    parser.add_argument("--shape", choices=["paragraphs", "wrapped"], default="wrapped",
                        help="paragraphs, or one hard-wrapped block without blank lines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rag-bigfile-") as scratch:
        path = make_text(Path(scratch) / "big.txt", args.mb, args.shape)
        results = {"file_mb": round(path.stat().st_size / 1048576, 1), "shape": args.shape, "real_model": args.real}
        for stage in args.stages.split(","):
            results[stage] = run_stage(stage, path, Path(scratch) / f"vs-{stage}", args.real)
            print(stage, results[stage], file=sys.stderr, flush=True)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
