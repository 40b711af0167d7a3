"""Trade-In Ops Sheets: the library behind the ``sheets-sync`` CLI and the webhook.

The flow of one job is one-way: database → query → frame → guards → sheet
backend (which fits, plans and writes); write-back will go sheet → parsed
edits → validation → one transaction (docs/design.md §2).
Nothing in this package imports Flask.
"""

__version__ = "0.1.0"
