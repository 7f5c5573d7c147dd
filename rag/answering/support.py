"""Is each sentence of a model's answer supported by the passage it cites?

Support is measured by content overlap: the share of the sentence's content (character bigrams of its
Chinese, with function characters and the model's stock phrases left out; English words and numbers) that
the cited passage contains. A sentence also fails when it carries a word of opposite or stronger polarity
that its passage never uses ("否决" where the passage says "批示", "没有", "全部被…"): overlap alone cannot see
a flipped claim. ``THRESHOLD`` is calibrated on real small-model answers over the sample corpus
(``eval/support_calibration.py``, data in ``eval/calibration/support.jsonl``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from rag.answering.citations import markers, strip_markers
from rag.text.tokens import bigrams
from rag.types import Passage

THRESHOLD = 0.375  # calibrated: eval/support_calibration.py fit (59 sentences: 25/25 supported kept, 34/34 unsupported dropped)
MIN_CONTENT = 3  # a sentence with fewer content tokens ("是的。") says nothing to check

# An answer's sentences: up to a sentence end, with the markers written right after it.
_SENTENCE = re.compile(r"[^。！？!?；;\n]+(?:[。！？!?；;]+|$|(?=\n))(?:[ \t]*\[\d+\])*")
_ASKS = re.compile(r"[？?]\s*$")
# What a model says around a claim rather than the claim ("根据资料，…", "文档显示…").
_STOCK = re.compile(
    r"根据(?:以上|上述|所给|提供的)?(?:资料|文档|原文|材料|信息|内容)(?:[\[\d\]]*)(?:显示|可知|所述|中)?|"
    r"(?:资料|文档|原文|材料)(?:中)?(?:显示|提到|指出|表明|所述|记载)|综上(?:所述)?|总之|总的来说|"
    r"答案(?:是|为)|回答(?:是|为)|可以看出|由此可见|具体(?:来说|而言)|其中|此外|另外|同时|以及|"
    r"according to the (?:passage|document|text)s?|the (?:passage|document|text)s? (?:says?|states?|shows?)",
    re.I,
)
# Characters that carry grammar, not content: runs are split at them before taking bigrams.
_FUNCTION = re.compile(r"[的了是在和与及等也都而并或被将把对于为从以其这那有个所之就又还已即则呢吗吧啊]")
# Words that flip or harden a claim; a sentence may use one only where its passage does.
POLARITY = (
    "没有", "并未", "未能", "从未", "尚未", "未曾", "未被", "不是", "不再", "不能", "无法", "不会", "并非", "毫无",
    "否决", "否定", "拒绝", "驳回", "撤销", "取消", "禁止", "反对", "失败", "终止", "停止", "废除", "搁置",
    "下降", "减少", "降低", "下滑", "亏损", "全部", "所有", "一律", "均被", "都被", "从不", "唯一", "首次",
)
# Bonus: words of opposite sense; naming the one the passage uses makes the reason readable.
ANTONYMS = {
    "否决": ("批示", "通过", "同意", "采纳", "肯定"), "拒绝": ("同意", "接受", "采纳"), "驳回": ("批准", "通过"),
    "减少": ("增加", "增长", "提高"), "下降": ("上升", "增长", "提高"), "降低": ("提高", "提升"),
    "反对": ("支持", "赞成"), "失败": ("成功", "完成"), "取消": ("举办", "召开", "开展"),
}


@dataclass
class Support:
    """The answer's sentences that its passages support, and the ones dropped (with why)."""

    text: str
    kept: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (sentence, reason)

    @property
    def all_supported(self) -> bool:
        return not self.dropped


def content_tokens(sentence: str) -> set[str]:
    """The sentence's content: bigrams of Chinese runs between function characters, English words, numbers."""
    text = _STOCK.sub("，", strip_markers(sentence))
    return set(bigrams(_FUNCTION.sub("，", text)))


def overlap(sentence: str, passage_text: str) -> float:
    """The share of the sentence's content tokens that the passage contains (0 when it has none)."""
    tokens = content_tokens(sentence)
    if not tokens:
        return 0.0
    return len(tokens & set(bigrams(passage_text))) / len(tokens)


def polarity_clash(sentence: str, passage_text: str) -> str | None:
    """A polarity word of the sentence that the passage never uses (the passage's opposite word when it has one)."""
    claim = strip_markers(sentence)
    for word in POLARITY:
        if word in claim and word not in passage_text:
            opposite = next((w for w in ANTONYMS.get(word, ()) if w in passage_text), None)
            return f"“{word}”" + (f"（原文是“{opposite}”）" if opposite else "（原文没有）")
    return None


def sentence_support(sentence: str, passage_text: str) -> tuple[float, str | None]:
    """The overlap score of one sentence with one passage, and the polarity word it adds (or None)."""
    return overlap(sentence, passage_text), polarity_clash(sentence, passage_text)


def split_sentences(text: str) -> list[str]:
    """The answer's sentences, each with the markers written right after it."""
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def check(text: str, passages: Sequence[Passage], threshold: float = THRESHOLD) -> Support:
    """Keep the sentences their cited passage supports; a sentence without a marker answers to the answer's."""
    answer_cited = [n for n in markers(text) if 1 <= n <= len(passages)]
    kept, dropped = [], []
    for sentence in split_sentences(text):
        if _ASKS.search(strip_markers(sentence)):  # the question said back ("……举办了几届冬奥会？") answers nothing
            dropped.append((sentence.strip(), "是问句，不是回答"))
            continue
        if len(content_tokens(sentence)) < MIN_CONTENT:
            kept.append(sentence)
            continue
        cited = [n for n in markers(sentence) if 1 <= n <= len(passages)] or answer_cited
        candidates = cited or range(1, len(passages) + 1)
        best, reason = 0.0, "没有引用任何段落"
        for n in candidates:
            score, clash = sentence_support(sentence, passages[n - 1].text)
            if clash is None and score >= threshold:
                best, reason = score, None
                break
            if score >= best:
                best = score
                reason = f"引用的段落不支持{clash}" if clash else f"与引用段落的内容重合 {score:.2f} 低于 {threshold:.2f}"
        if reason is None:
            kept.append(sentence)
        else:
            dropped.append((sentence.strip(), reason))
    body = "".join(kept).strip()
    return Support(body, [s.strip() for s in kept], dropped)
