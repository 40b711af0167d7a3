"""Tab templates (docs/design.md §5): typed model and the YAML loader that validates it."""

from sheets_sync.templates.loader import load_template, load_templates
from sheets_sync.templates.model import (
    ColumnSpec,
    ColumnType,
    ConditionalFormat,
    ConditionKind,
    PivotSpec,
    PivotValue,
    Summarize,
    TabTemplate,
)

__all__ = [
    "ColumnSpec",
    "ColumnType",
    "ConditionKind",
    "ConditionalFormat",
    "PivotSpec",
    "PivotValue",
    "Summarize",
    "TabTemplate",
    "load_template",
    "load_templates",
]
