"""The hotlines joined into 12345 (热线归并), as a registry built from configuration."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum


class HotlineKind(StrEnum):
    """How a hotline relates to the 12345 hub."""

    HUB = "hub"  # 12345 itself
    MERGED = "merged"  # number cancelled, seats moved into 12345
    PARALLEL = "parallel"  # 双号并行: keeps its number beside 12345
    EMERGENCY = "emergency"  # 110/119/120/122: separate, linked by two-way transfer


@dataclass(frozen=True, slots=True)
class Hotline:
    code: str
    name: str
    owner_unit: str
    kind: HotlineKind


class HotlineRegistry(Mapping[str, Hotline]):
    """Hotlines by code; the single source of which codes intake accepts."""

    def __init__(self, hotlines: Iterable[Hotline]) -> None:
        self._by_code: dict[str, Hotline] = {}
        for hotline in hotlines:
            if hotline.code in self._by_code:
                raise ValueError(f"hotline {hotline.code} is listed twice")
            self._by_code[hotline.code] = hotline

    def __getitem__(self, code: str) -> Hotline:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

