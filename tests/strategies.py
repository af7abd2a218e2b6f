"""Hypothesis strategies for the domain tests: ID numbers and ways to damage them.

Generated numbers are synthetic: random address codes from valid provinces, random
birth dates and sequences, with a computed check character.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from vault.domain.divisions import PROVINCE_PREFIXES
from vault.domain.idnumbers import check_character

EARLIEST_BIRTH = date(1900, 1, 1)

# White space and invisible characters that clerks' files carry.
NOISE_SPACES = (" ", "\u00a0", "\u200b", "\ufeff", "\u3000", "\t", "\u2009")
NOISE_HYPHENS = ("-", "\u2010", "\u2013", "\uff0d")
LOOKALIKE_X = ("\u0425", "\u0445", "\u03a7", "\u03c7")


def with_check(first17: str) -> str:
    """Return ``first17`` followed by its MOD 11-2 check character."""
    return first17 + check_character(first17)


@st.composite
def address_codes(draw: st.DrawFn) -> str:
    """A 6-digit address code with a valid province prefix."""
    province = draw(st.sampled_from(sorted(PROVINCE_PREFIXES)))
    return province + draw(st.from_regex(r"\A[0-9]{4}\Z"))


@st.composite
def citizen_numbers(draw: st.DrawFn, today: date) -> str:
    """A valid 18-digit citizen ID number for someone born by ``today``."""
    born = draw(st.dates(min_value=EARLIEST_BIRTH, max_value=today))
    sequence = draw(st.integers(min_value=0, max_value=999))
    return with_check(f"{draw(address_codes())}{born:%Y%m%d}{sequence:03d}")


@st.composite
def numbers_with_wrong_check(draw: st.DrawFn, today: date) -> str:
    """A citizen number whose check character was replaced by another one."""
    number = draw(citizen_numbers(today))
    wrong = draw(st.sampled_from([c for c in "0123456789X" if c != number[17]]))
    return number[:17] + wrong


@st.composite
def numbers_with_swapped_digits(draw: st.DrawFn, today: date) -> str:
    """A citizen number with two different adjacent digits of the first 17 swapped."""
    number = draw(citizen_numbers(today))
    positions = [i for i in range(16) if number[i] != number[i + 1]]
    index = draw(st.sampled_from(positions))
    digits = list(number)
    digits[index], digits[index + 1] = digits[index + 1], digits[index]
    return "".join(digits)


@st.composite
def numbers_with_impossible_dates(draw: st.DrawFn) -> str:
    """A number with a correct check character but a date that does not exist."""
    year = draw(st.integers(min_value=1900, max_value=2025))
    month, day = draw(st.sampled_from([(2, 30), (2, 31), (4, 31), (13, 1), (0, 10), (6, 0),
                                       (1, 32)]))
    sequence = draw(st.integers(min_value=0, max_value=999))
    return with_check(f"{draw(address_codes())}{year:04d}{month:02d}{day:02d}{sequence:03d}")


@st.composite
def numbers_born_after(draw: st.DrawFn, today: date) -> str:
    """A number with a correct check character and a birth date after ``today``."""
    born = draw(st.dates(min_value=today + timedelta(days=1), max_value=date(2999, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    return with_check(f"{draw(address_codes())}{born:%Y%m%d}{sequence:03d}")


@st.composite
def noisy(draw: st.DrawFn, number: str) -> str:
    """``number`` as a clerk might type it: spaces, hyphens, full width, lower-case x.

    Every variant cleans up to ``number`` again.
    """
    characters: list[str] = []
    for char in number:
        typed = char
        if draw(st.booleans()):
            # Full-width digits and X sit 0xFEE0 above their ASCII forms.
            typed = chr(ord(char) + 0xFEE0)
        elif char == "X" and draw(st.booleans()):
            typed = "x"
        characters.append(typed)
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            characters.append(draw(st.sampled_from(NOISE_SPACES + NOISE_HYPHENS)))
    prefix = draw(st.sampled_from(("", " ", "\ufeff", "\u3000")))
    suffix = draw(st.sampled_from(("", " ", "\u00a0", "\u200b")))
    return prefix + "".join(characters) + suffix


@st.composite
def numbers_with_lookalike_x(draw: st.DrawFn, today: date) -> str:
    """A number ending in X whose X was replaced by a Cyrillic or Greek look-alike."""
    born = draw(st.dates(min_value=EARLIEST_BIRTH, max_value=today))
    address = draw(address_codes())
    for sequence in range(1000):
        first17 = f"{address}{born:%Y%m%d}{sequence:03d}"
        if check_character(first17) == "X":
            return first17 + draw(st.sampled_from(LOOKALIKE_X))
    raise AssertionError("no sequence gives check character X")  # pragma: no cover


def any_id_text() -> st.SearchStrategy[str]:
    """Text near the shape of an ID number, valid or not, for oracle comparisons."""
    alphabet = st.sampled_from(list("0123456789Xx") + list(NOISE_SPACES) + ["-", "\uff11"])
    return st.text(alphabet, min_size=0, max_size=22)
