"""``sheets-sync serve``: run the webhook service locally (production runs gunicorn, app.yaml).

The webhook package (and Flask) is imported only when the command runs, so
the library and every other command never load Flask.
"""

from __future__ import annotations

import click

from sheets_sync.cli.app import AppContext, database_option, main, pass_app


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; SHEETS_SYNC_AUTH=disabled works only on loopback.")  # fmt: skip
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0 picks a free one).")  # fmt: skip
@database_option
@pass_app
def serve(app: AppContext, host: str, port: int) -> None:
    """Serve the webhook (refresh, pricing, run status, nightly cron) in the foreground.

    \b
    A development server, threaded; in production App Engine runs gunicorn
    (see app.yaml). Example, with the emulator and no auth on loopback:
        SHEETS_SYNC_AUTH=disabled sheets-sync serve --port 8080
    """
    from werkzeug.serving import make_server

    from webhook import create_app

    web = create_app({"SETTINGS": app.settings.replace(bind_host=host)})
    try:
        server = make_server(host, port, web, threaded=True)
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {error.strerror or error}; choose another --port"
        ) from error
    click.echo(f"Webhook service on http://{host}:{server.server_port}  (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
