"""The names people read for the codes the data keeps: markets and categories.

The database holds ISO 3166-1 alpha-2 country codes (``AT``) and category ids
(``smartphone``); an alert, a message or a tab that says where something is
happening says it with these names (``market Austria (AT)``, ``category
smartphones``). A code without a name here (a market opened since) is said as
the code itself, never dropped: a new market needs no code change to be shown.
"""

from __future__ import annotations

COUNTRY_NAMES: dict[str, str] = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "CH": "Switzerland",
    "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany", "DK": "Denmark",
    "EE": "Estonia", "ES": "Spain", "FI": "Finland", "FR": "France",
    "GB": "United Kingdom", "GR": "Greece", "HR": "Croatia", "HU": "Hungary",
    "IE": "Ireland", "IT": "Italy", "LT": "Lithuania", "LU": "Luxembourg",
    "LV": "Latvia", "MT": "Malta", "NL": "Netherlands", "NO": "Norway",
    "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SE": "Sweden",
    "SI": "Slovenia", "SK": "Slovakia", "US": "United States",
}  # fmt: skip
"""The European markets the product serves and their neighbours, by ISO code."""

CATEGORY_LABELS: dict[str, str] = {
    "smartphone": "smartphones", "tablet": "tablets", "laptop": "laptops",
    "console": "consoles", "smartwatch": "smartwatches",
}  # fmt: skip
"""Each category of ``products.category`` as a team says it (plural, lower case)."""


def country_name(code: str) -> str | None:
    """The English name of an ISO country code, None when the code has none here."""
    return COUNTRY_NAMES.get(code)


def market(code: str) -> str:
    """``Austria (AT)``; an unnamed code is said as itself (``XK``)."""
    name = country_name(code)
    return f"{name} ({code})" if name else code


def category_label(category: str) -> str:
    """``smartphones`` for ``smartphone``; an unknown category is said as its id."""
    return CATEGORY_LABELS.get(category, category)
