"""The checks of one ``sheets-sync.yaml`` entry's fields, each failing with file, line, key and fix.

Split from :mod:`sheets_sync.registry` (which assembles the entries) so the
registry's model and scope read on their own. :func:`matches` is here too: the
one rule of who an email or ``*@domain`` pattern names, which the checks of
``pricers`` and the membership rules share.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sheets_sync.destinations import parse_destination
from sheets_sync.errors import DestinationError
from sheets_sync.tab_templates.source import Where

if TYPE_CHECKING:
    from sheets_sync.tab_templates.model import TabTemplate

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'+/=?^_`{|}~.-]{1,64}$")
_PEOPLE_EXAMPLES = {
    "members": 'e.g. `members: ["*@benelux.example.com", ana@example.com]`',
    "pricers": "e.g. `pricers: [ana@example.com]`",
}
_URL_ID = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")


def matches(email: str, patterns: tuple[str, ...]) -> bool:
    """``email`` is one of ``patterns`` (emails, ``*@domain``), ignoring case.

    ``*@domain`` is that exact domain, not its subdomains, as
    ``SHEETS_SYNC_ALLOWED_DOMAINS`` reads it.
    """
    address = email.strip().lower()
    if address.count("@") != 1:
        return False
    domain = "*@" + address.rpartition("@")[2]
    return any(pattern in (address, domain) for pattern in patterns)


def spreadsheet_id(value: Any, key: str, where: Where) -> str:
    fix = "copy the id from the sheet's URL (docs.google.com/spreadsheets/d/<ID>/edit)"
    if value is None or value == "":
        raise where.fail(key, "missing", fix)
    if not isinstance(value, str):
        raise where.fail(key, f"{value!r} is not text", f"quote it, e.g. id: '{value}'")
    if found := _URL_ID.search(value):
        raise where.fail(key, "a URL, not an id", f"write only the id: `id: {found.group(1)}`")
    try:
        parse_destination(f"gsheets:{value}")
    except DestinationError as error:
        raise where.fail(key, f"{value!r} is not a spreadsheet id", fix) from error
    return value.strip()


def sheet_name(value: Any, key: str, where: Where) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.fail(
            key, "missing or empty", "name the sheet for people, e.g. `name: Benelux market team`"
        )
    return value.strip()


def tab_list(
    value: Any, key: str, templates: Mapping[str, TabTemplate], where: Where
) -> tuple[str, ...] | None:
    if value is None:
        return None
    titles = list(templates)
    items = _text_list(value, key, where, "e.g. `tabs: [KPI Daily, Pricing]`")
    for index, title in enumerate(items):
        if title not in titles:
            close = difflib.get_close_matches(title, titles, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"use one of {titles}"
            raise where.fail(f"{key}[{index}]", f"no tab is titled {title!r}", hint)
    for index, title in enumerate(items):
        _check_chart_tabs(templates[title], items, f"{key}[{index}]", where)
    return items


def _check_chart_tabs(
    template: TabTemplate, items: tuple[str, ...], key: str, where: Where
) -> None:
    """A listed tab's charts read (and may be drawn on) other tabs: those must be listed too.

    The registry says which tabs a spreadsheet gets, so a chart never silently
    brings a tab the team left out, nor points at one the sheet does not have.
    """
    needed = [c.source_title(template.title) for c in template.charts]
    needed += [c.sheet_title(template.title) for c in template.charts]
    missing = [t for t in dict.fromkeys(needed) if t not in items]
    if missing:
        names = ", ".join(missing)
        raise where.fail(
            key,
            f"tab {template.title!r} has charts that read or are drawn on tab(s) {names}, which "
            "this spreadsheet does not get",
            f"add {names} to `tabs:`, or leave `tabs:` out to get every tab",
        )


def country_list(value: Any, key: str, where: Where) -> tuple[str, ...] | None:
    if value is None:
        return None
    for index, code in enumerate(value if isinstance(value, list) else []):
        if isinstance(code, bool):  # YAML 1.1 reads a bare NO (Norway) as false
            raise where.fail(
                f"{key}[{index}]", f"{code} is not a country code", "quote it, e.g. 'NO'"
            )
    items = _text_list(value, key, where, "e.g. `countries: [FR, BE]`")
    for index, code in enumerate(items):
        if not _COUNTRY.match(code):
            example = code.upper() if _COUNTRY.match(code.upper()) else "FR"
            raise where.fail(
                f"{key}[{index}]",
                f"{code!r} is not a two-letter country code",
                f"write an ISO 3166-1 alpha-2 code in capitals, e.g. {example}",
            )
    return items


def people(value: Any, key: str, where: Where) -> tuple[str, ...] | None:
    """``members`` / ``pricers``: emails and ``*@domain`` patterns, lower-cased; None if absent."""
    if value is None:
        return None
    name = key.rpartition(".")[2]
    if isinstance(value, list) and not value:
        meaning = "lets no person in" if name == "members" else "is the same as leaving it out"
        left_out = (
            "leave `members` out to open the sheet to every allowed caller"
            if name == "members"
            else "leave `pricers` out (then no one may push this sheet's prices)"
        )
        raise where.fail(key, f"an empty list {meaning}", f"list who may, or {left_out}")
    example = _PEOPLE_EXAMPLES[name]
    items = _text_list(value, key, where, example)
    found = tuple(_person(item, f"{key}[{i}]", where) for i, item in enumerate(items))
    for index, person in enumerate(found):
        if found.index(person) != index:
            raise where.fail(
                f"{key}[{index}]",
                f"{person!r} is listed twice (case does not count)",
                "list it once",
            )
    return found


def _person(text: str, key: str, where: Where) -> str:
    """One email or ``*@domain``, lower-cased; its shape checked (not that it exists)."""
    value = text.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at:
        if _DOMAIN.match(value.removeprefix("*.")):
            fix = f'write "*@{value.removeprefix("*.")}" for everyone at that domain'
        else:
            fix = 'write an email (ana@example.com) or "*@example.com" for a whole domain'
        raise where.fail(key, f"{text!r} is not an email address", fix)
    if local == "*" and not domain:
        raise where.fail(
            key, f"{text!r} names no domain", 'write the domain after it, e.g. "*@example.com"'
        )
    if not local:
        raise where.fail(
            key, f"{text!r} has nothing before @", f'write "*@{domain}" for everyone at {domain}'
        )
    if not _DOMAIN.match(domain):
        raise where.fail(
            key,
            f"{text!r}: {domain!r} is not a domain",
            'write a full domain after @, e.g. ana@example.com or "*@example.com"',
        )
    if local != "*" and ("*" in local or not _LOCAL_PART.match(local) or ".." in local):
        hint = (
            f'"*@{domain}" matches everyone at {domain} (a * stands only for the whole name)'
            if "*" in local
            else "write one plain address, e.g. ana@example.com"
        )
        raise where.fail(key, f"{text!r} is not an email address", hint)
    return value


def check_pricers(
    members: tuple[str, ...] | None, pricers: tuple[str, ...] | None, key: str, where: Where
) -> None:
    """A pricer is a member even when ``members`` does not cover them (docs/design.md §8);
    a pricer that looks like a typo of a member is refused, since that typo would make
    someone a member rather than the listed person a pricer."""
    if not members or not pricers:
        return
    emails = [m for m in members if not m.startswith("*@")]
    for index, pricer in enumerate(pricers):
        if pricer.startswith("*@") or matches(pricer, members):
            continue
        close = difflib.get_close_matches(pricer, emails, n=1, cutoff=0.85)
        if close:
            raise where.fail(
                f"{key}[{index}]",
                f"{pricer!r} is not among the members, and looks like member {close[0]!r}",
                f"did you mean {close[0]!r}? (if not, list {pricer!r} in members too)",
            )


def _text_list(value: Any, key: str, where: Where, example: str) -> tuple[str, ...]:
    """A non-empty list of distinct, non-empty strings (left out, the key means "all")."""
    if not isinstance(value, list) or not value:
        raise where.fail(key, "not a non-empty list", f"write a list, {example}, or leave it out")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise where.fail(f"{key}[{index}]", f"{item!r} is not text", example)
        if value.index(item) != index:
            raise where.fail(f"{key}[{index}]", f"{item!r} is listed twice", "list it once")
    return tuple(item.strip() for item in value)
