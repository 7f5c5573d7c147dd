"""A procedure told in sentences ("首先……。然后……。……就可以按回车键确认了。") is answered with its steps in order."""

from __future__ import annotations

from tests.test_structured_answers import ask, indexed

GUIDE = (
    "# 图像编辑器 2.4 的新功能\n\n"
    "## 对齐工具\n\n虽然编辑器提供了网格和参考线功能，对齐物体的工作还是要手工完成。新的对齐工具改变了这一现状。\n\n"
    "## 前景选择工具\n\n"
    "现在有了前景选择工具，可以很容易选择出单独的物体了。这分为以下两步。首先，选择一个区域，要包含整个物体。"
    "然后用笔刷在选择区域上画，不要越过物体的边界。放开鼠标按钮，看看是否有深蓝色的点出现在物体的边界上。"
    "如果有一些，可以再用笔刷在上面画，修整选区。当蓝色充满物体内部时，就可以按回车键确认了。这时物体就很完美地选出来了。\n\n"
    "## 菜单中的变化\n\n最值得注意的是，顶层的颜色菜单中积累了多数的工具、插件和脚本。好多菜单项换了名字和位置。\n"
)


def test_a_procedure_told_in_sentences_is_answered_with_every_step_in_order(tmp_path):
    a = ask(indexed(tmp_path, "guide.md", GUIDE), "用前景选择工具把一个物体抠出来，具体怎么操作？")
    assert not a.abstained, a.text
    steps = [a.text.find(s) for s in ("首先，选择一个区域", "然后用笔刷", "放开鼠标按钮", "就可以按回车键确认了")]
    assert -1 not in steps and steps == sorted(steps), a.text
