"""Re-take Google's discovery documents the emulator validates against.

``python -m sheets_emulator.discovery.refresh`` copies ``sheets.v4.json``, ``drive.v3.json``
and ``drive.v2.json`` from the installed ``google-api-python-client`` (the copies Google
ships in ``googleapiclient/discovery_cache/documents``); ``--wheel PATH`` takes them from a
downloaded wheel (``pip download google-api-python-client --no-deps -d DIR``) and ``--url``
from Google's discovery service. It prints each document's ``revision`` so the commit can
say which one it brought in. Run offline the emulator needs nothing: the copies live here.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
import zipfile
from importlib import util
from pathlib import Path

from sheets_emulator.discovery import DOCUMENTS

HERE = Path(__file__).resolve().parent
INNER = "googleapiclient/discovery_cache/documents/"
URLS = {
    "sheets.v4.json": "https://sheets.googleapis.com/$discovery/rest?version=v4",
    "drive.v3.json": "https://www.googleapis.com/discovery/v1/apis/drive/v3/rest",
    "drive.v2.json": "https://www.googleapis.com/discovery/v1/apis/drive/v2/rest",
}


def from_wheel(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(INNER + name) for name in DOCUMENTS}


def from_installed() -> dict[str, bytes]:
    spec = util.find_spec("googleapiclient")
    if spec is None or spec.origin is None:
        raise SystemExit(
            "google-api-python-client is not installed: pip install it, or pass --wheel or --url"
        )
    folder = Path(spec.origin).parent / "discovery_cache" / "documents"
    return {name: (folder / name).read_bytes() for name in DOCUMENTS}


def from_urls() -> dict[str, bytes]:
    out = {}
    for name, url in URLS.items():
        with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310 (fixed https URLs)
            out[name] = answer.read()
    return out


def write(documents: dict[str, bytes], folder: Path = HERE) -> list[str]:
    """Write each document (checked to be a discovery document); answer one line per file."""
    lines = []
    for name, data in documents.items():
        parsed = json.loads(data)
        if parsed.get("kind") != "discovery#restDescription" or "schemas" not in parsed:
            raise SystemExit(f"{name} is not a discovery document; nothing written")
        (folder / name).write_bytes(data)
        lines.append(f"{name}: {parsed.get('id')} revision {parsed.get('revision')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--wheel", type=Path, help="a google-api-python-client wheel")
    source.add_argument("--url", action="store_true", help="fetch from Google's discovery URLs")
    args = parser.parse_args(argv)
    if args.wheel:
        documents = from_wheel(args.wheel)
    elif args.url:
        documents = from_urls()
    else:
        documents = from_installed()
    for line in write(documents):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
