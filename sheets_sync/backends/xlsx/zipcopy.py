"""Copy a zip member into another zip without inflating and deflating it again.

The members of a workbook the sync does not write (the team's sheets, charts,
images, the shared strings) go into the new file as the very bytes they were
stored as: byte-identical by construction, and a 50 MB sheet costs a file
copy, not a recompression. :mod:`zipfile` has no public call for it, so the
local header is written from the member's :class:`ZipInfo` (sizes and CRC in
the header, no data descriptor) and the entry is registered for the central
directory the way ``ZipFile.write`` does.
"""

from __future__ import annotations

import copy
import shutil
import struct
import zipfile

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_SIGNATURE = b"PK\x03\x04"
_DATA_DESCRIPTOR = 0x08
_ENCRYPTED = 0x01
_ZIP64_EXTRA = 0x0001


def copy_member(source: zipfile.ZipFile, target: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Append ``info``'s member of ``source`` to ``target``, stored bytes unchanged."""
    if info.flag_bits & _ENCRYPTED or source.fp is None or target.fp is None:
        with source.open(info) as data, target.open(_fresh_info(info), "w") as out:
            shutil.copyfileobj(data, out, 1 << 20)
        return
    source.fp.seek(info.header_offset)
    header = source.fp.read(_LOCAL_HEADER.size)
    if header[:4] != _SIGNATURE:
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    fields = _LOCAL_HEADER.unpack(header)
    source.fp.seek(info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1])
    entry = copy.copy(info)
    entry.flag_bits &= ~_DATA_DESCRIPTOR
    entry.extra = zipfile._strip_extra(info.extra, (_ZIP64_EXTRA,))  # type: ignore[attr-defined]
    entry.header_offset = target.fp.tell()
    zip64 = max(info.file_size, info.compress_size) > zipfile.ZIP64_LIMIT
    target.fp.write(entry.FileHeader(zip64))
    remaining = info.compress_size
    while remaining:
        chunk = source.fp.read(min(remaining, 1 << 20))
        if not chunk:
            raise zipfile.BadZipFile(f"{info.filename} is truncated")
        target.fp.write(chunk)
        remaining -= len(chunk)
    target.filelist.append(entry)
    target.NameToInfo[entry.filename] = entry
    target.start_dir = target.fp.tell()


def _fresh_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(info.filename, info.date_time)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = info.external_attr
    return entry
