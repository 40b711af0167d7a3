"""Trade-In Ops Sheets: the library behind the ``sheets-sync`` CLI and the webhook.

The flow of one job is one-way: database → query → frame → tab plan → sheet
backend; write-back goes sheet → parsed edits → validation → one transaction.
Nothing in this package imports Flask.
"""

__version__ = "0.1.0"
