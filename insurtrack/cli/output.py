"""The one renderer: a Rich table on a terminal, plain text when piped or under NO_COLOR, and
json / csv as a stable machine contract. Data goes to stdout, messages to stderr.

Value rules (tested in tests/cli/test_output.py): money and other Decimals are exact strings
("1200.50"); instants are shown in the configured timezone (ISO 8601 with offset in json and csv);
dates are ISO; None is empty (null in json).

CSV is UTF-8; `excel=True` starts it with a byte-order mark so Excel reads Chinese text right. A
text cell starting with =, +, -, @ (or a tab or carriage return) is prefixed with a single quote so
a spreadsheet never runs it as a formula (OWASP "CSV injection"); numbers are left as they are.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any

from insurtrack.cli.options import OutputFormat

Row = Mapping[str, Any]


class Output:
    def __init__(self, fmt: OutputFormat | str = OutputFormat.TABLE, *, tz: tzinfo | None = None,
                 stdout=None, stderr=None, excel: bool = False) -> None:
        self.format = OutputFormat(fmt)
        self.excel = excel
        self._bom_written = False
        self.tz = tz
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    # ---------------------------------------------------------------- values
    def _text(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, datetime):
            local = value.astimezone(self.tz) if self.tz else value
            if self.format is OutputFormat.TABLE:
                return local.strftime("%Y-%m-%d %H:%M")
            return local.isoformat(timespec="seconds")
        if isinstance(value, (date, Decimal)):
            return str(value) if not isinstance(value, date) else value.isoformat()
        if isinstance(value, Enum):
            return str(value.value)
        if isinstance(value, (list, tuple)):
            return ", ".join(self._text(v) for v in value)
        return str(value)

    def _json(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, (datetime, date, Decimal, Enum)):
            return self._text(value)
        if isinstance(value, float):
            return value
        if isinstance(value, Mapping):
            return {k: self._json(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._json(v) for v in value]
        return str(value)

    # ---------------------------------------------------------------- data
    def rows(self, rows: Iterable[Row], columns: Sequence[str] | None = None, *,
             title: str | None = None) -> None:
        """A list of records. With `columns` given, json and csv stream the rows as they come
        (an export of any size runs in flat memory)."""
        if columns and self.format is not OutputFormat.TABLE:
            cols = list(columns)
            if self.format is OutputFormat.CSV:
                self._write_csv(cols, rows)
            else:
                self._stream_json(cols, rows)
            return
        rows = list(rows)
        cols = list(columns) if columns else (list(rows[0].keys()) if rows else [])
        if self.format is OutputFormat.JSON:
            self._write_json([{c: self._json(r.get(c)) for c in cols} for r in rows])
        elif self.format is OutputFormat.CSV:
            self._write_csv(cols, rows)
        else:
            self._table(cols, rows, title=title)
            if not rows:
                self.message(f"(no {title.lower() if title else 'rows'})")

    def record(self, record: Row, sections: Mapping[str, Sequence[Row]] | None = None, *,
               title: str | None = None) -> None:
        """One record, with its sections (schedule, timeline…): nested in json; in csv the record
        alone, as one row (each section has a listing command of its own)."""
        sections = sections or {}
        if self.format is OutputFormat.JSON:
            doc = {k: self._json(v) for k, v in record.items()}
            for name, rows in sections.items():
                doc[name] = [{k: self._json(v) for k, v in r.items()} for r in rows]
            self._write_json(doc)
        elif self.format is OutputFormat.CSV:
            self._write_csv(list(record.keys()), [record])
        else:
            self._fields(record, title=title)
            for name, rows in sections.items():
                rows = list(rows)
                heading = name.replace("_", " ").capitalize()
                if rows:
                    self._table(list(rows[0].keys()), rows, title=heading)
                else:
                    self._console().print(f"{heading}: none", highlight=False)

    def message(self, text: str) -> None:
        """A note for the person (stderr), never mixed with data."""
        print(text, file=self.stderr)

    # ---------------------------------------------------------------- writers
    def _write_json(self, doc: Any) -> None:
        json.dump(doc, self.stdout, ensure_ascii=False, indent=2)
        self.stdout.write("\n")

    def _stream_json(self, cols: Sequence[str], rows: Iterable[Row]) -> None:
        """A json array written row by row, formatted as _write_json would."""
        out, first = self.stdout, True
        out.write("[")
        for r in rows:
            item = json.dumps({c: self._json(r.get(c)) for c in cols}, ensure_ascii=False, indent=2)
            out.write(("\n  " if first else ",\n  ") + item.replace("\n", "\n  "))
            first = False
        out.write("\n]\n" if not first else "]\n")

    def _write_csv(self, cols: Sequence[str], rows: Iterable[Row]) -> None:
        """Streams: rows may be a generator of any length; memory stays flat."""
        if self.excel and not self._bom_written:
            self.stdout.write("\ufeff")
            self._bom_written = True
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow([safe_cell(c) for c in cols])
        for r in rows:
            writer.writerow([self._cell(r.get(c)) for c in cols])

    def _cell(self, value: Any) -> str:
        text = self._text(value)
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return text
        return safe_cell(text)

    def _plain(self) -> bool:
        return bool(os.environ.get("NO_COLOR")) or not _isatty(self.stdout)

    def _console(self):
        from rich.console import Console

        plain = self._plain()
        return Console(file=self.stdout, no_color=plain, color_system=None if plain else "auto",
                       width=None if _isatty(self.stdout) else 1000, highlight=False,
                       emoji=False, markup=False)

    def _table(self, cols: Sequence[str], rows: Sequence[Row], *, title: str | None) -> None:
        from rich import box
        from rich.table import Table

        plain = self._plain()
        table = Table(title=title, box=box.SIMPLE if plain else box.ROUNDED, title_justify="left",
                      header_style="" if plain else "bold", show_edge=not plain)
        for c in cols:
            numeric = any(isinstance(r.get(c), (int, Decimal)) and not isinstance(r.get(c), bool)
                          for r in rows)
            table.add_column(c.replace("_", " "), justify="right" if numeric else "left",
                             overflow="fold")
        for r in rows:
            table.add_row(*(self._text(r.get(c)) for c in cols))
        self._console().print(table)

    def _fields(self, record: Row, *, title: str | None) -> None:
        from rich import box
        from rich.table import Table

        plain = self._plain()
        table = Table(title=title, box=None if plain else box.ROUNDED, show_header=False,
                      title_justify="left")
        table.add_column("field", style="" if plain else "bold")
        table.add_column("value", overflow="fold")
        for k, v in record.items():
            table.add_row(k.replace("_", " "), self._text(v))
        self._console().print(table)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A text cell a spreadsheet will show, never evaluate (=HYPERLINK(…) becomes '=HYPERLINK(…))."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
