"""What "它" in a follow-up stands for when the follow-up names one of the earlier question's things itself."""

from __future__ import annotations

from rag.question.followup import rewrite_follow_up


def _after(previous: str, answer: str, question: str) -> str:
    return rewrite_follow_up(question, [{"role": "user", "content": previous}, {"role": "assistant", "content": answer}])


def test_it_is_the_thing_the_follow_up_does_not_name():
    assert _after("Debian 是从哪个版本开始默认用 systemd 启动的？", "从 Jessie 开始。",
                  "那在它之前，Debian 默认用的是哪个启动系统？") == "在systemd之前，Debian 默认用的是哪个启动系统？"
    assert _after("nginx 和 Apache 哪个先发布？", "Apache 更早。", "它比 nginx 早几年？") == "Apache比 nginx 早几年？"


def test_a_follow_up_naming_something_new_or_saying_gai_is_left_alone():
    # "它后面的 Debian 13": "它" is what the answer told of, not the FAQ the earlier question named
    got = _after("这份 FAQ 里说当前的测试版代号是什么？", "bookworm，也就是 Debian 12。", "那它后面的 Debian 13 叫什么？")
    assert "它后面的 Debian 13" in got and "FAQ" not in got, got
    # "我该怎么" is "should", and "这个 GID" points at a word the follow-up says
    assert _after("我手上的 bullseye 光盘是不稳定版吗？", "不是。", "那我该怎么确认这张盘到底是哪个 Debian 版本？") == \
        "那我该怎么确认这张盘到底是哪个 Debian 版本？"
    assert _after("newusers 的输入文件里 pw_gid 字段填什么？", "组名或 GID。",
                  "那 pw_gid 填了一个数字，但系统里没有这个 GID 的组呢？") == "那 pw_gid 填了一个数字，但系统里没有这个 GID 的组呢？"
