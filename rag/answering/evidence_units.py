"""An answer unit as evidence for a question, and the extractive answer cut from it."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from rag.question.analysis import QuestionInfo
from rag.types import Passage


# a lead-in whose list gives the cases in which what it says holds ("符合下列情形之一的，……")
_CASES = re.compile(r"(?:下列|以下|如下)(?:情形|情况|行为|条件|事项)之一")


def cases_lead(lead: str) -> str:
    """``lead`` when it is the sentence leading into a list of the cases in which what it says holds
    ("评审专家存在以下情形之一的，……应当将其解聘："); "" otherwise."""
    lead = lead.strip()
    return lead if lead.endswith(("：", ":")) and _CASES.search(lead) else ""


@dataclass(frozen=True)
class Evidence:
    """An answer unit inside one of the passages (a sentence, table row, list item, …), with how well it answers."""

    passage: int  # index into the passages list
    start: int  # span inside the passage text
    end: int
    text: str  # the passage's text of that span, verbatim
    score: float
    shown: str = ""  # the unit as an answer shows it (a table row with its header, without markup)
    kind: str = "sentence"
    supported: bool | None = None  # the selector's verdict; None: judged by the question's words
    plausible: bool = True  # the selector rates it high enough to give a figure when the question is answerable
    context: str = ""  # what the unit stands under: its headings, a table's header, a list's lead-in

    @property
    def cases_lead(self) -> str:
        """The lead-in of the list this item is one case of ("评标委员会成员人数应当为7人以上单数：" over
        "（一）采购预算金额在1000万元以上；"): what holds for the item is said there; "" for any other unit."""
        return cases_lead(self.context.rpartition(" › ")[2]) if self.kind == "item" else ""

    @property
    def answer_text(self) -> str:
        return self.shown or self.text


def promoted(ranked: list[Evidence], k: int) -> list[Evidence]:
    """Unit ``k`` first, carrying the best unit's verdict on whether the question is answered."""
    chosen = replace(ranked[k], supported=ranked[0].supported)
    return [chosen, *ranked[:k], *ranked[k + 1:]]


FIGURE_TOP = 8  # the plausible units a figure or date may come from when the best unit holds none


# Ranks the answer units of the passages, best first (``selection.rank``); None ranks sentences by words.
Ranker = Callable[[QuestionInfo, Sequence[Passage]], list[Evidence]]


@dataclass(frozen=True)
class Extract:
    """The extractive answer: the part that answers, and the sentence it was cut from."""

    answer: str
    evidence: Evidence
    label: str = ""  # e.g. "2023年" when a comparison is answered one year at a time
    also: tuple[Evidence, ...] = ()  # runners-up the selector rates close to the best: shown after it, each cited
