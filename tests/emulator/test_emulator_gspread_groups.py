"""Row and column groups through real gspread: replies, depth as Google's reference
computes it, ``rowGroups`` / ``columnGroups`` in metadata, and groups moving with
inserted and deleted rows."""

from __future__ import annotations

from typing import Any

import gspread
import pytest


@pytest.fixture
def ws(gspread_client: gspread.Client) -> gspread.Worksheet:
    return gspread_client.create("Groups").sheet1


def _groups(answer: dict[str, Any], kind: str) -> list[tuple[int, int, int]]:
    reply = answer["replies"][0][kind]
    return [
        (g["range"]["startIndex"], g["range"]["endIndex"], g["depth"])
        for g in reply.get("dimensionGroups", [])
    ]


def _spans(groups: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    return [(g["range"]["startIndex"], g["range"]["endIndex"], g["depth"]) for g in groups]


def test_add_and_delete_answer_as_recorded_from_google(ws: gspread.Worksheet) -> None:
    added = ws.add_dimension_group_rows(0, 2)
    assert added["replies"] == [
        {
            "addDimensionGroup": {
                "dimensionGroups": [
                    {"range": {"dimension": "ROWS", "startIndex": 0, "endIndex": 2}, "depth": 1}
                ]
            }
        }
    ]
    assert ws.list_dimension_group_rows() == [
        {"range": {"dimension": "ROWS", "startIndex": 0, "endIndex": 2}, "depth": 1}
    ]
    deleted = ws.delete_dimension_group_rows(0, 2)
    assert deleted["replies"] == [{"deleteDimensionGroup": {}}]
    assert ws.list_dimension_group_rows() == []


def test_depth_follows_the_references_examples(ws: gspread.Worksheet) -> None:
    # [C:D, 1] + [B:E] -> [B:E, 1], [C:D, 2]
    ws.add_dimension_group_columns(2, 4)
    assert _groups(ws.add_dimension_group_columns(1, 5), "addDimensionGroup") == [
        (1, 5, 1),
        (2, 4, 2),
    ]
    # deleting D:E from those leaves [B:D, 1] and [C:C, 2]
    answer = ws.delete_dimension_group_columns(3, 5)
    assert _groups(answer, "deleteDimensionGroup") == [(1, 4, 1), (2, 3, 2)]
    assert _spans(ws.list_dimension_group_columns()) == [(1, 4, 1), (2, 3, 2)]
    assert ws.list_dimension_group_rows() == []


def test_partial_overlap_widens_the_group_and_nests_the_intersection(ws: gspread.Worksheet) -> None:
    ws.add_dimension_group_rows(1, 4)  # [B:D, 1] + [C:E] -> [B:E, 1], [C:D, 2]
    assert _groups(ws.add_dimension_group_rows(2, 5), "addDimensionGroup") == [(1, 5, 1), (2, 4, 2)]


def test_collapsed_is_set_by_update_and_shown_in_metadata(ws: gspread.Worksheet) -> None:
    ws.add_dimension_group_rows(3, 6)
    ws.spreadsheet.batch_update({"requests": [{"updateDimensionGroup": {
        "dimensionGroup": {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 3, "endIndex": 6},
                           "depth": 1, "collapsed": True},
        "fields": "collapsed",
    }}]})  # fmt: skip
    assert ws.list_dimension_group_rows()[0]["collapsed"] is True
    with pytest.raises(gspread.exceptions.APIError, match="depth 2"):
        ws.spreadsheet.batch_update({"requests": [{"updateDimensionGroup": {
            "dimensionGroup": {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 3, "endIndex": 6},
                               "depth": 2, "collapsed": True},
            "fields": "collapsed",
        }}]})  # fmt: skip


def test_groups_move_with_inserted_and_deleted_rows(ws: gspread.Worksheet) -> None:
    ws.add_dimension_group_rows(4, 8)
    ws.insert_rows([["new"]], 1)  # above: the group moves down
    assert _spans(ws.list_dimension_group_rows()) == [(5, 9, 1)]
    ws.insert_rows([["inside"]], 7)  # row index 6, inside: the group grows
    assert _spans(ws.list_dimension_group_rows()) == [(5, 10, 1)]
    ws.delete_rows(1, 3)  # rows 0..2 (index): the group moves up
    assert _spans(ws.list_dimension_group_rows()) == [(2, 7, 1)]
    ws.delete_rows(3, 7)  # indexes 2..6, the whole group: it is gone
    assert ws.list_dimension_group_rows() == []


def test_a_group_outside_the_grid_or_deleting_nothing_is_refused(ws: gspread.Worksheet) -> None:
    with pytest.raises(
        gspread.exceptions.APIError, match=r"Invalid requests\[0\]\.addDimensionGroup"
    ):
        ws.add_dimension_group_rows(990, 1001)
    with pytest.raises(gspread.exceptions.APIError, match="No group"):
        ws.delete_dimension_group_rows(0, 3)
    assert ws.list_dimension_group_rows() == []
