"""A follow-up made standalone reads as one natural question: the new action or thing in its place, the asking
words kept, no modal verb or earlier verb left dangling ("怎么要断开连上 ADSL" was the earlier rewrite)."""

import pytest

from rag.question.followup import rewrite_follow_up


def _history(previous: str, said: str = "文档里有答案[1]。") -> list[dict]:
    return [{"role": "user", "content": previous}, {"role": "assistant", "content": said}]


@pytest.mark.parametrize("previous, question, expected", [
    # the new action takes the place of the whole action asked how to do, without its "要"
    ("pppoeconf 配好以后，怎么拨号连上 ADSL？", "那要断开呢？", "pppoeconf 配好以后，怎么断开 ADSL？"),
    ("Emacs 里怎么往下翻一屏？", "那往回翻一屏呢？", "Emacs 里怎么往回翻一屏？"),
    ("在 vim 里怎么撤销上一次修改？", "那想重做呢？", "在 vim 里怎么重做？"),
    # ...but keeps the thing the earlier action was done to
    ("测试 maintainer scripts 时，用 dpkg 怎么卸载 gentoo 这个包？", "那彻底删除（purge）呢？",
     "测试 maintainer scripts 时，用 dpkg 怎么彻底删除（purge） gentoo 这个包？"),
    # a new thing in place of the one the last clause asks about
    ("常用网络端口里，打印用的是哪个端口？", "mDNS 呢？", "常用网络端口里，mDNS 用的是哪个端口？"),
    # a longer new situation takes the place of the same-sized old one
    ("无偿献过血的人，以后自己住院要用血，还要交费吗？", "那他的家人要用血呢？",
     "无偿献过血的人，以后他的家人要用血，还要交费吗？"),
])
def test_the_new_part_takes_the_old_ones_place(previous, question, expected):
    assert rewrite_follow_up(question, _history(previous)) == expected


@pytest.mark.parametrize("previous, question, expected", [
    # a wish asks how to get it
    ("GIMP 里按 Ctrl+S 会把图存成什么格式？", "那想换个名字另存一份呢？", "GIMP 想换个名字另存一份，该怎么做？"),
    ("pypinyin 的 lazy_pinyin 默认返回什么？", "那要是只想要每个字拼音的首字母呢？",
     "pypinyin 如果只想要每个字拼音的首字母，该怎么做？"),
    # a supposition asks what follows from it
    ("debconf 提问的优先级默认设在哪一档？", "那要是选“低”呢？", "debconf 提问的优先级如果选“低”，会怎样？"),
])
def test_a_wish_or_a_supposition_keeps_a_question(previous, question, expected):
    assert rewrite_follow_up(question, _history(previous)) == expected


@pytest.mark.parametrize("previous, question", [
    ("pppoeconf 配好以后，怎么拨号连上 ADSL？", "那要断开呢？"),
    ("GIMP 里按 Ctrl+S 会把图存成什么格式？", "那想换个名字另存一份呢？"),
    ("常用网络端口里，打印用的是哪个端口？", "mDNS 呢？"),
    ("debconf 提问的优先级默认设在哪一档？", "那要是选“低”呢？"),
    ("Emacs 里怎么往下翻一屏？", "那往回翻一屏呢？"),
])
def test_every_rewrite_still_asks(previous, question):
    rewritten = rewrite_follow_up(question, _history(previous))
    assert rewritten.endswith("？")
    assert any(word in rewritten for word in ("怎么", "哪", "什么", "会怎样", "多少", "吗"))
