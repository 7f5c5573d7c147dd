"""Follow-ups that swap one thing of the earlier question, several items asked at once, figures at a bound or in a
measure, and entries: a key over its one-line description, the entry of the option a question names, the page
a question names, the menu it asks for, the language it is asked in."""

from __future__ import annotations

from dataclasses import replace

from rag.answering.figures import best_clause, quantities
from rag.answering.nearmiss import no_menu, other_page
from rag.answering.preferences import exact_first, item_coverage, name_first, own_item_first, own_language_first
from rag.documents.units import display, split_units
from rag.question.analysis import analyse, question_kind
from rag.question.followup import rewrite_follow_up
from rag.question.multifact import split_items
from rag.text.numbers import extract_numbers
from rag.text.tokens import key_combos
from tests.test_structured_answers import ask, asked, indexed_all, unit


def _after(question: str, previous: str) -> str:
    return rewrite_follow_up(question, [{"role": "user", "content": previous}, {"role": "assistant", "content": "……"}])


def test_a_follow_up_swaps_the_thing_bound_or_key_it_names():
    assert _after("那服务器端呢？", "OpenSSH 的客户端在哪个 Debian 软件包里？") == "OpenSSH 的服务器端在哪个 Debian 软件包里？"
    assert _after("那最多呢？", "献血的时候，血站一次一般采多少血？") == "献血的时候，血站一次最多采多少血？"
    assert _after("那最少呢？", "一次能采多少血？") == "一次最少能采多少血？"
    assert _after("那再加上 Shift 呢？", "GIMP 里 Ctrl+E 是什么功能？") == "GIMP 里 Ctrl+Shift+E 是什么功能？"
    assert _after("那主席呢？", "自治区政协的秘书长是谁？") == "自治区政协的主席是谁？"  # a whole word still swaps whole


def test_items_asked_at_once_are_asked_one_by_one_without_their_count():
    parts = split_items("chage 的 -m、-M、-W 三个选项分别设的是什么？")
    assert [item for item, _ in parts] == ["-m", "-M", "-W"]
    assert all("三个" not in q and "选项" in q for _, q in parts), parts


def test_figures_enumeration_marks_measures_and_bounds():
    assert extract_numbers("（二）请求消费者协会调解") == [] and extract_numbers("2) 重新启动") == []
    assert [n.value for n in extract_numbers("共（3）人")] == [3.0]
    assert [n.value for n in quantities("最多不得超过四百毫升", ())] == [400.0]
    assert quantities("三北地区", ()) == [] and quantities("十三届", ()) == []
    sentence = "血站对献血者每次采集血液量一般为二百毫升，最多不得超过四百毫升，两次采集间隔期不少于六个月。"
    wanted = lambda c: bool(quantities(c, ()))  # noqa: E731
    assert best_clause(analyse("血站一次最多采多少血？"), sentence, wanted) == "最多不得超过四百毫升"
    assert best_clause(analyse("血站一次一般采多少血？"), sentence, wanted) == "血站对献血者每次采集血液量一般为二百毫升"


def test_a_key_over_its_description_is_one_entry_and_modifiers_have_one_order():
    from rag.documents.cleaning import clean_text

    assert key_combos("Shift + Ctrl + E") == key_combos("Ctrl+Shift+E") == ["ctrl+shift+e"]
    text = clean_text("**Ctrl** + E  \nExport\n\n **Shift** + **Ctrl** + E  \n"
                      "Export As...: save image to various file formats\n\n*/indices/*：  \n站点的各种索引文件。\n")
    shown = [(u.kind, display(text, u)) for u in split_units(text)]
    assert ("option", "Shift + Ctrl + E：Export As...: save image to various file formats") in shown, shown
    assert ("field", "/indices/：站点的各种索引文件。") in shown, shown  # a field of its own stays one


def test_the_entry_of_the_option_named_answers_what_it_does_not_why_it_is_used():
    mention = unit("除非使用 -A 或 -M 选项，不能结合使用这些选项。", "row")
    lower = unit("-m, --mindays MIN_DAYS：Set the minimum number of days.", "option", supported=False)
    entry = unit("-M, --maxdays MAX_DAYS：Set the maximum number of days.", "option", supported=False)
    got = exact_first(asked("chage 的 -M 选项设的是什么？"), [mention, lower, entry])
    assert got[0].answer_text == entry.answer_text and got[0].supported  # carries the best unit's verdict
    why = [unit("万一这种事情发生，可能要重新以 -c 选项运行 mandb 来重建数据库。"),
           unit("-c, --create：默认情况下，mandb 会尝试更新任何以前创建的数据库。", "option")]
    assert exact_first(asked("为什么有时候得重新 mandb -c？"), why, "reason") == why


def test_an_item_of_several_is_matched_whole_and_in_its_case():
    assert item_coverage("-M", "-M, --maxdays：……") == 1.0 and item_coverage("-M", "-m, --mindays：……") == 0.0
    assert item_coverage("1", "等级1，也被称为单用户模式") == 1.0 and item_coverage("1", "等级10") == 0.0
    info = replace(asked("运行等级里，1 是做什么用的？"), items=("1", "0", "6"))
    ranked = [unit("默认情况下使用四个不同的运行阶层："), unit("- 等级2用于正常运行。", "item"),
              unit("- 等级1，也被称为单用户模式。", "item")]
    assert own_item_first(info, ranked)[0].answer_text == "- 等级1，也被称为单用户模式。"


def test_a_named_page_a_menu_and_the_language_asked_in():
    info = analyse("userdel 的退出值 4 表示什么？")
    pages = frozenset({"userdel", "useradd"})
    assert other_page(info, "useradd.8 › 退出值\n4 UID already in use", pages) == "userdel"
    assert other_page(info, "userdel.8 › 退出值\n8 user currently logged in", pages) is None
    assert other_page(analyse("APT 的 pin 优先级是多少？"), "apt › 优先级", pages) is None  # not a page's name
    menu = analyse("消除红眼滤镜在哪个菜单下面？")
    assert no_menu(menu, ["GIMP 有一种自动滤镜可以消除红眼"])
    assert not no_menu(menu, ["滤镜 → 增强 → 消除红眼"]) and not no_menu(analyse("怎么消除红眼？"), ["一种滤镜"])
    english = unit("4. Open the system menu and select the Wi-Fi network.", "item")
    chinese = replace(unit("较强的无线网络连接并不一定意味着连接速度更快。"), score=0.29)
    assert own_language_first(asked("为什么信号满格网速却不快？"), [english, chinese])[0] is not english
    far = replace(chinese, score=0.1)
    assert own_language_first(asked("为什么信号满格网速却不快？"), [english, far])[0] is english


def test_a_few_done_is_not_a_count_asked():
    assert question_kind("我自己做了几个 deb 包，想搭个私人软件源，具体步骤去哪儿看？") != "count"
    assert question_kind("去年开了几次会？") == "count"
    assert question_kind("我装了几个插件，现在一共占了多少空间？") == "count"
    assert question_kind("开了几次会，你知道吗？") == "count"  # a tag question asks the count


def test_a_name_the_question_says_is_looked_for_in_the_units():
    info = analyse("stretch 这个代号是《玩具总动员》里的哪个角色？")
    lead = unit("到目前为止，这些代号都来自皮克斯电影《玩具总动员》系列的角色。")
    item = unit("- *stretch*（Debian 9）是那个有八条长着吸盘的长腿的橡胶玩具章鱼，", "item")
    assert name_first(info, [lead, item])[0].answer_text == item.answer_text
    package = analyse("OpenSSH 的服务器端在哪个软件包里？")
    blacklist = unit("SSH 守护进程会拒绝使用 openssh-blacklist 软件包中列出的密钥。")
    uses = unit("Debian 使用 OpenSSH，一个由 OpenBSD 项目维护的自由版本。")  # a sentence that only mentions it
    listed = unit("- openssh-blacklist：有问题的密钥的列表", "item")  # "openssh-blacklist" is another name
    assert name_first(package, [blacklist, uses, listed]) == [blacklist, uses, listed]
    server = unit("- OpenSSH 的服务器：openssh-server 软件包", "item")
    assert name_first(package, [blacklist, uses, server])[0].answer_text == server.answer_text


def test_entries_named_pages_and_swaps_end_to_end(tmp_path):
    docs = {
        "useradd.8.md": "# 退出值\n\n*4*\n\n> UID already in use (and no -o)\n\n*9*\n\n> username or group name already in use\n",
        "userdel.8.md": "# 退出值\n\n*8*\n\n> user currently logged in\n\n*10*\n\n> can't update group file\n",
        "keys.md": "# 文件菜单的快捷键\n\n**Ctrl** + E  \nExport\n\n **Shift** + **Ctrl** + E  \n"
                   "Export As...: save image to various file formats\n\n**Ctrl** + P  \nPrint...\n",
        "blood.md": "# 献血\n\n血站对献血者每次采集血液量一般为二百毫升，最多不得超过四百毫升，两次采集间隔期不少于六个月。\n",
        "codenames.md": "# 代号\n\n到目前为止，这些代号都来自皮克斯电影《玩具总动员》系列的角色：\n\n"
                        + "".join(f"- *{n}*（Debian {v}）是{w}，\n" for n, v, w in (
                            ("buzz", "1.1", "太空人巴斯光年"), ("rex", "1.2", "那只霸王龙"), ("bo", "1.3", "牧羊女"),
                            ("hamm", "2.0", "那只猪形存钱罐"), ("slink", "2.1", "那只弹簧狗"), ("potato", "2.2", "蛋头先生"),
                            ("woody", "3.0", "那个牛仔"), ("sarge", "3.1", "绿色塑料士兵的头"), ("etch", "4.0", "那个玩具画板"),
                            ("lenny", "5.0", "那个望远镜"), ("squeeze", "6.0", "三只眼的外星人"), ("wheezy", "7", "那只企鹅"),
                            ("jessie", "8", "那个女牛仔"), ("stretch", "9", "那只橡胶玩具章鱼"))),
    }
    settings = indexed_all(tmp_path, docs)
    page = ask(settings, "userdel 的退出值 4 表示什么？")
    assert page.abstained and "userdel" in page.text, page.text
    own = ask(settings, "userdel 的退出值 8 表示什么？")
    assert not own.abstained and "logged in" in own.text, own.text
    key = ask(settings, "那再加上 Shift 呢？", [{"role": "user", "content": "Ctrl+E 是什么功能？"},
                                              {"role": "assistant", "content": "Ctrl + E：Export[1]。"}])
    assert key.text.startswith("Shift + Ctrl + E：Export As"), key.text
    bound = ask(settings, "那最多呢？", [{"role": "user", "content": "献血的时候，血站一次一般采多少血？"},
                                       {"role": "assistant", "content": "一般为二百毫升[1]。"}])
    assert "四百毫升" in bound.text and "六个月" not in bound.text, bound.text
    toy = ask(settings, "stretch 这个代号是《玩具总动员》里的哪个角色？")
    assert toy.text.startswith("stretch（Debian 9）是那只橡胶玩具章鱼"), toy.text


CATALOG = ("# foo 的配置问题\n\n## foo/mode\n\nTemplate: foo/mode\nType: select\nDefault: local only\n"
           "Choices: 互联网站；直接发送或接收, 仅在本地投递；不联网, 现在不进行配置\nDescription: 系统设置的常见类型：\n\n"
           "请选择一个最适合您需要的设置类型。\n\n## foo/root-login\n\nTemplate: foo/root-login\nType: boolean\n"
           "Default: true\nDescription: 允许以根用户 (root) 登录吗？\n\n如果您选择不允许，将会创建一个普通用户账户。\n")


def test_the_fields_of_an_entry_stand_under_its_title():
    from rag.documents.cleaning import clean_text

    text = clean_text(CATALOG)
    units = split_units(text)
    default = next(u for u in units if display(text, u) == "Default: local only")
    assert default.kind == "field" and default.context.endswith("系统设置的常见类型"), default
    choices = next(u for u in units if display(text, u).startswith("Choices:"))
    assert choices.kind == "field"  # a long value with semicolons is still the field's
    login = next(u for u in units if display(text, u) == "Template: foo/root-login")
    assert login.context.endswith("允许以根用户 (root) 登录吗？"), login


def test_a_question_asking_one_field_of_an_entry_gets_that_field():
    from rag.answering.preferences import asked_field_first
    from rag.question.compare import split_asks

    title = unit("Description: 系统设置的常见类型：", "field")
    kind = unit("Type: select", "field")
    default = unit("Default: local only", "field")
    got = asked_field_first(asked("“系统设置的常见类型”这个问题的默认选项是哪一个？"), [title, kind, default])
    assert got[0].answer_text == "Default: local only"
    assert asked_field_first(asked("系统设置的常见类型有什么用？"), [title, kind, default]) == [title, kind, default]
    assert split_asks("询问“允许以根用户 (root) 登录吗？”的是哪个模板？") == []  # one question, quoting another


def test_entry_fields_end_to_end(tmp_path):
    settings = indexed_all(tmp_path, {"foo.md": CATALOG})
    default = ask(settings, "“系统设置的常见类型”这个问题的默认选项是哪一个？")
    assert default.text.startswith("Default: local only"), default.text
    template = ask(settings, "询问“允许以根用户 (root) 登录吗？”的是哪个模板？")
    assert template.text.startswith("Template: foo/root-login"), template.text


def test_this_thing_of_a_kind_is_the_one_the_last_answer_named():
    def after(question, answer):
        return rewrite_follow_up(question, [{"role": "user", "content": "libc6 升级时会不会问要不要自动重启服务？"},
                                            {"role": "assistant", "content": answer}])

    assert after("这个问题默认选的是什么？", "会，模板 libraries/restart-without-asking 问“要在升级时自动重启服务吗？”。") == (
        "“要在升级时自动重启服务吗？”这个问题默认选的是什么？")
    assert after("那这个文件在哪？", "写在 /etc/foo/bar.conf 里。") == "/etc/foo/bar.conf 这个文件在哪？"
    assert after("这个选项是干什么的？", "用 -S 选项[1]。") == "-S 这个选项是干什么的？"
    assert after("这个问题默认选的是什么？", "文档中没有提到这一点。") != "这个问题默认选的是什么？"  # the question's own
