"""Administrative units (wards, communes, special zones) from the `vietnam-provinces` package.

Never hand-typed: the package ships the post-July-2025 two-tier list with official codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.text import fold

HANOI = 1


@dataclass(frozen=True)
class Unit:
    code: int
    name: str
    kind: str  # "phường", "xã" or "đặc khu"
    province_code: int

    @property
    def search_key(self) -> str:
        return fold(self.name)


class UnknownProvince(ValueError):
    pass


def province_name(province_code: int) -> str:
    from vietnam_provinces import Province, ProvinceCode

    try:
        return Province.from_code(ProvinceCode(province_code)).name
    except ValueError:
        raise UnknownProvince(f"unknown province code {province_code}") from None


def units_of_province(province_code: int = HANOI) -> list[Unit]:
    """The province's commune-level units in the package's order."""
    from vietnam_provinces import Ward

    province_name(province_code)
    return [
        Unit(int(w.code), w.name, w.division_type.value, int(w.province_code))
        for w in Ward.iter_all()
        if int(w.province_code) == province_code
    ]
