"""The words the KPIs, the facts, the guards and the alerts share, defined once, below them all.

:mod:`.prices` reads a price as the team types it (the push and the sync alike);
:mod:`.orders` names an order's events, the counter-offer answers that count as
refusals and the 48 h inspection SLA; :mod:`.arithmetic` says how a figure is
counted, divided and windowed; :mod:`.sqlfuncs` spells the date arithmetic
SQLite and PostgreSQL write differently. Each layer above imports these rather
than another layer, so the facts never import the KPIs they feed, nor the
guards the KPIs that call them.
"""
