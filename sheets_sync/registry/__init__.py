"""The spreadsheet registry, ``sheets-sync.yaml``: the team's spreadsheets and their scope.

docs/design.md §8 and §10. Each entry names a Google spreadsheet (``id``), a
human ``name``, optionally the ``tabs`` it gets (default: every tab) and the
``countries`` (markets) whose rows it gets, on every tab. ``sheets-sync sync
--all`` and the webhook's nightly cron sync every entry; the webhook answers
404 for a spreadsheet that is not registered. The file is validated when it
is loaded, so a typo stops the service at start-up with the file, line, key
and fix, rather than at 2 a.m. in the nightly sync::

    spreadsheets:
      - id: 1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789
        name: Benelux market team
        tabs: [KPI Daily, Pricing]
        countries: [BE, NL]
        members: ["*@benelux.example.com", ana@example.com]
        pricers: [ana@example.com]

Country codes are checked for their shape (two upper-case letters, ISO 3166-1
alpha-2), not against a fixed list: the markets are whatever the database
holds, and a new market must not need a code change here.

``members`` and ``pricers`` say who may use the sheet (docs/design.md §8):
emails, or ``*@domain`` for everyone at exactly that domain, matched without
regard to case. A member may read the sheet's runs and alerts and refresh it;
a pricer may also push its prices, and is a member whether or not ``members``
covers them. An entry without ``members`` is open to every caller the
webhook's global allowlists admit; an entry without ``pricers`` accepts no
push. The rules here are pure (:meth:`RegisteredSheet.admits`,
:meth:`RegisteredSheet.prices`); the webhook decides by caller kind
(``webhook/access.py``).

What a caller gets on a registered spreadsheet — its tabs, its markets, and
whether they may push its prices — is answered in one place, :func:`scope_of`,
which ``sheets-sync sync`` / ``push-pricing`` and every webhook endpoint ask.

The checks of each entry's fields are :mod:`.fields`. This package never
imports Flask: the CLI and the webhook share it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sheets_sync.config import Settings
from sheets_sync.config.env import DEFAULT_CONFIG_FILE, ENV_PREFIX
from sheets_sync.errors import ConfigError
from sheets_sync.registry.fields import (
    check_pricers,
    country_list,
    matches,
    people,
    sheet_name,
    spreadsheet_id,
    tab_list,
)
from sheets_sync.tab_templates.source import Where, read_yaml

if TYPE_CHECKING:
    from sheets_sync.tab_templates.model import TabTemplate

TOP_KEYS = {"spreadsheets"}
SHEET_KEYS = {"id", "name", "tabs", "countries", "members", "pricers"}


@dataclass(frozen=True)
class RegisteredSheet:
    """One registered spreadsheet; ``tabs`` / ``countries`` of None mean "all"."""

    id: str
    name: str
    tabs: tuple[str, ...] | None
    countries: tuple[str, ...] | None
    members: tuple[str, ...] | None = None
    """Emails and ``*@domain`` patterns (lower case); None: open to every allowed caller."""
    pricers: tuple[str, ...] = ()
    """Who may also push prices (same forms); empty: no push is accepted."""

    @property
    def is_open(self) -> bool:
        """No ``members``: every caller the global allowlists admit is a member."""
        return self.members is None

    def admits(self, email: str) -> bool:
        """Whether ``email`` is a member: open sheet, listed in ``members``, or a pricer."""
        return self.is_open or matches(email, self.members or ()) or self.prices(email)

    def prices(self, email: str) -> bool:
        """Whether ``email`` may push this sheet's prices (listed in ``pricers``)."""
        return matches(email, self.pricers)

    def describe(self) -> str:
        """``KPI Daily, Pricing; BE, NL``: the sheet's scope as the CLI prints it."""
        tabs = ", ".join(self.tabs) if self.tabs else "every tab"
        countries = ", ".join(self.countries) if self.countries else "every country"
        return f"{tabs}; {countries}"


@dataclass(frozen=True)
class Scope:
    """What one caller gets on one registered spreadsheet (:func:`scope_of`)."""

    sheet: RegisteredSheet
    tabs: tuple[str, ...] | None
    """The tabs to sync: the ones asked for, else the sheet's; None: every tab."""
    may_price: bool
    """Whether the caller may push the sheet's prices (of :attr:`countries` only)."""

    @property
    def countries(self) -> tuple[str, ...] | None:
        """The markets whose rows every tab gets and whose prices may be pushed; None: all."""
        return self.sheet.countries

    @property
    def filters(self) -> dict[str, tuple[str, ...]]:
        """The ``run_sync(filters=...)`` restricting every tab to :attr:`countries`."""
        return {"country": self.countries} if self.countries else {}


class OutsideScope(Exception):
    """Tabs asked for that the spreadsheet does not get; each caller words the refusal
    its own way (the CLI names them all, the webhook the first body field)."""

    def __init__(
        self, sheet: RegisteredSheet, outside: tuple[tuple[int, str], ...], allowed: tuple[str, ...]
    ) -> None:
        super().__init__(", ".join(repr(title) for _, title in outside))
        self.sheet = sheet
        self.outside = outside
        """``(index, title as asked)`` of each tab outside the scope, in the order asked."""
        self.allowed = allowed


def scope_of(
    sheet: RegisteredSheet,
    tabs: Sequence[str] | None = None,
    person: str | None = None,
    titles: Collection[str] | None = None,
) -> Scope:
    """What a caller gets on ``sheet``: the one answer the CLI and the webhook ask for.

    ``tabs`` are the tabs asked for (None: the sheet's own); each, stripped, must
    be one of the sheet's ``tabs`` when it lists them, else one of ``titles``
    when given (every tab the templates define: the webhook refuses an unknown
    title here, the CLI leaves it to the sync's own message), or
    :class:`OutsideScope` is raised. The asked tabs come back stripped, each once.
    ``person`` is the verified email of the person asking; None when no person
    asks (the CLI's operator, the service itself), who may push any sheet's
    prices — always only of its ``countries``.
    """
    chosen = sheet.tabs
    if tabs is not None:
        allowed = sheet.tabs or (tuple(titles) if titles is not None else None)
        if allowed is not None:
            outside = tuple((i, t) for i, t in enumerate(tabs) if t.strip() not in allowed)
            if outside:
                raise OutsideScope(sheet, outside, allowed)
        chosen = tuple(dict.fromkeys(t.strip() for t in tabs))
    return Scope(sheet, chosen, person is None or sheet.prices(person))


@dataclass(frozen=True)
class Registry:
    """The registered spreadsheets, in file order (the order ``--all`` syncs them)."""

    sheets: tuple[RegisteredSheet, ...]

    def get(self, spreadsheet_id: str) -> RegisteredSheet | None:
        """The entry for ``spreadsheet_id``, or None when it is not registered."""
        return next((s for s in self.sheets if s.id == spreadsheet_id), None)


def load_registry(
    settings: Settings, tab_templates: Callable[[], Mapping[str, TabTemplate]]
) -> Registry:
    """Read and validate ``settings.files.config_file``; raise :class:`ConfigError` on any mistake.

    A missing file is an empty registry only at the default path (a checkout
    with no registry still runs the demo); a path someone configured must
    exist, since a typo there would otherwise silently sync nothing.

    ``tab_templates`` gives the templates an entry's ``tabs`` are checked against
    (``lambda: load_all_templates(settings)``). The caller passes it because loading
    them takes the KPI queries, which sit above the registry; it is asked only
    when the file lists a spreadsheet.
    """
    path = settings.files.config_file
    if not path.exists():
        if path == DEFAULT_CONFIG_FILE:
            return Registry(sheets=())
        raise ConfigError(
            f"{ENV_PREFIX}CONFIG_FILE={str(path)!r}: no such file; create it (see the "
            "README's spreadsheet registry section) or unset the variable to use "
            f"./{DEFAULT_CONFIG_FILE} when present"
        )
    raw, where = read_yaml(path, "`spreadsheets:`", ConfigError)
    where.check_keys(raw, TOP_KEYS, "")
    entries = raw.get("spreadsheets")
    if entries is None:
        return Registry(sheets=())
    if not isinstance(entries, list):
        raise where.fail(
            "spreadsheets",
            "not a list",
            "list the spreadsheets, each starting with `- id: …` on its own line",
        )
    templates = tab_templates()
    sheets = tuple(
        _sheet(item, f"spreadsheets[{i}]", templates, where) for i, item in enumerate(entries)
    )
    _refuse_duplicates(sheets, where)
    return Registry(sheets=sheets)


def _sheet(
    item: Any, key: str, templates: Mapping[str, TabTemplate], where: Where
) -> RegisteredSheet:
    if not isinstance(item, dict):
        raise where.fail(key, "not a mapping", "write `- id: …` then `name: …` under it")
    where.check_keys(item, SHEET_KEYS, f"{key}.")
    members = people(item.get("members"), f"{key}.members", where)
    pricers = people(item.get("pricers"), f"{key}.pricers", where)
    check_pricers(members, pricers, f"{key}.pricers", where)
    return RegisteredSheet(
        id=spreadsheet_id(item.get("id"), f"{key}.id", where),
        name=sheet_name(item.get("name"), f"{key}.name", where),
        tabs=tab_list(item.get("tabs"), f"{key}.tabs", templates, where),
        countries=country_list(item.get("countries"), f"{key}.countries", where),
        members=members,
        pricers=pricers or (),
    )


def _refuse_duplicates(sheets: tuple[RegisteredSheet, ...], where: Where) -> None:
    first: dict[str, int] = {}
    for index, sheet in enumerate(sheets):
        if sheet.id in first:
            other = f"spreadsheets[{first[sheet.id]}]"
            line = where.line(other)
            at = f" (line {line})" if line else ""
            raise where.fail(
                f"spreadsheets[{index}].id",
                f"{sheet.id!r} is already registered as {other}{at}",
                "register each spreadsheet once; merge the two entries",
            )
        first[sheet.id] = index
