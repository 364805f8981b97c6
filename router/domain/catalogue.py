"""The dispatch catalogue (派单目录): taxonomy items below the first level, named in the text.

A first-level category is too coarse to route some calls: the taxonomy files 公共汽车 under
城乡建设, so "公交车司机态度差" would reach the housing bureau. Items of the catalogue are found
by the words that name them; when every item a call names belongs to one unit, that unit takes
the call and the route reason names the item. Pure: text in, item out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The first level of the message taxonomy: what a ticket may be filed under.
FIRST_LEVEL_CATEGORIES = frozenset({
    "城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", "卫生计生",
    "农村农业", "政法", "民政", "党务政务", "经济管理", "纪检监察", "国土资源", "科技与信息产业",
})


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    item_id: str
    path: str  # level1/level2[/level3] in the taxonomy
    category: str
    unit: str | None  # None: the category's routing rules decide
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CatalogueMatch:
    item: CatalogueItem
    term: str


class Catalogue:
    def __init__(self, items: Iterable[CatalogueItem] = ()) -> None:
        self.items = tuple(items)
        # (term, item), longest first: the most specific name wins
        self._terms = sorted(((term, item) for item in self.items for term in item.terms),
                             key=lambda pair: -len(pair[0]))

    def find(self, text: str) -> CatalogueMatch | None:
        """The item the text names, or None when it names none, or items of different
        destinations (then the first-level category decides)."""
        found: list[tuple[str, CatalogueItem]] = []
        taken: list[tuple[int, int]] = []
        for term, item in self._terms:
            start = text.find(term)
            while start != -1:
                end = start + len(term)
                # a shorter term inside a longer one already found is the same mention
                if not any(start < other_end and other_start < end
                           for other_start, other_end in taken):
                    taken.append((start, end))
                    found.append((term, item))
                    break
                start = text.find(term, start + 1)
        if not found:
            return None
        destinations = {item.unit or f"category:{item.category}" for _term, item in found}
        if len(destinations) > 1:
            return None
        term, item = found[0]
        return CatalogueMatch(item, term)
