"""The run machinery: a sync's run from queued to succeeded or failed.

docs/design.md §8. One file per part of a run's life:

- :mod:`~sheets_sync.jobs.runs` — the only writer of ``sync_runs``: every
  status change (queue, widen, claim, mark, fail, sweep) is a function there;
- :mod:`~sheets_sync.jobs.queue` — queue-or-join a sync of a destination, and
  the liveness rule by which dead runs are swept;
- :mod:`~sheets_sync.jobs.run` — running one run: lock, claim, sync, record
  its end (:class:`~sheets_sync.jobs.run.Job`, the CLI's ``sync_now``);
- :mod:`~sheets_sync.jobs.executor` — the in-process executor (a thread pool);
- :mod:`~sheets_sync.jobs.processes` — the sync child processes a thread may
  wait on;
- :mod:`~sheets_sync.jobs.cloud_tasks` — the executor that hands runs to Cloud
  Tasks.

Nothing here imports Flask, and nothing the sync engine uses imports this
package: the run machinery sits above :mod:`sheets_sync.sync`. This file imports
nothing, so importing :mod:`~sheets_sync.jobs.runs` (a pricing push records its
run there) loads no executor.
"""
