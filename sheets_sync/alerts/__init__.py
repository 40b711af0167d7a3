"""Alerts and operational checks (docs/design.md §9).

Rules (``templates/alerts.yaml``, :mod:`.rules`) are evaluated in the database
(:mod:`.metrics`, :mod:`.evaluate`); their state lives in the ``alerts`` table
and what must be said goes through the ``alert_notifications`` outbox
(:mod:`.state`), delivered to Slack and e-mail by :mod:`.notify`. Every
channel says an alert in the words of :mod:`sheets_sync.vocabulary.alert_voice`
(names, units, since when, where to look); :mod:`.speech` gathers the names
and links those words need, :mod:`.messages` lays them out per channel.

The nightly job calls :func:`sheets_sync.alerts.run.evaluate_and_notify` after
syncing. This package never imports Flask. The Alerts tab's query, which reads
the ``alerts`` table, is a KPI query like the others: :mod:`sheets_sync.kpis.alerts_tab`.
"""
