"""The one renderer: a Rich table on a terminal, plain text when piped or under NO_COLOR, and
json / csv as a stable machine contract. Data goes to stdout, messages to stderr.

Value rules (tested in tests/cli/test_output.py): money and other Decimals are exact strings
("1200.50"); instants are shown in the configured timezone (ISO 8601 with offset in json and csv);
dates are ISO; None is empty (null in json).

Big exports on SQLite are rendered by SQLite itself by the same rules written in SQL (SqlRender,
stream_blocks); the fast paths are tested to write the same bytes as rows().

CSV is UTF-8; `excel=True` starts it with a byte-order mark so Excel reads Chinese text right. A
text cell starting with =, +, -, @ (or a tab or carriage return) is prefixed with a single quote so
a spreadsheet never runs it as a formula (OWASP "CSV injection"); numbers are left as they are.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
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
        """A json array written row by row, formatted as _write_json would. A row of plain
        values (the usual case) is laid out here with the C encoder for each value: json.dumps
        with `indent` runs the pure-Python encoder, ten times slower (issue 5: `due --format
        json` at a million policies)."""
        out, first = self.stdout, True
        dumps = json.JSONEncoder(ensure_ascii=False).encode
        keys = [f"\n    {dumps(c)}: " for c in cols]
        as_is, json_of = _AS_IS, self._json
        # many rows share an instant (a day's deadline); kept small, so that memory stays flat
        # on an export of any size
        instants: dict[datetime, Any] = {}

        def value_of(v: Any) -> Any:
            if v.__class__ is datetime:
                shown = instants.get(v)
                if shown is None:
                    if len(instants) >= 1024:
                        instants.clear()
                    shown = instants[v] = json_of(v)
                return shown
            return json_of(v)

        out.write("[")
        for r in rows:
            values = [v if v.__class__ in as_is else value_of(v) for v in map(r.get, cols)]
            if cols and all(v is None or type(v) in _PLAIN for v in values):
                item = "{" + ",".join(k + dumps(v) for k, v in zip(keys, values)) + "\n  }"
            else:
                item = json.dumps(dict(zip(cols, values)), ensure_ascii=False, indent=2
                                  ).replace("\n", "\n  ")
            out.write(("\n  " if first else ",\n  ") + item)
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

    # ---------------------------------------------------------------- stored values, fast
    def stream(self, columns: Sequence[str], kinds: Sequence[Any],
               batches: Iterable[Sequence[Sequence[Any]]], at: Sequence[int] | None = None) -> None:
        """Rows of values as SQLite stores them, in batches, written in json or csv exactly as
        `rows()` writes the same records decoded — byte for byte (tests/reports/test_export.py
        compares the two on every export) — but with one compiled expression per row instead of
        a few function calls per cell: several times faster on a big export.

        `kinds[i]` says what the stored value of column i is (STORED_KINDS), or is a pair
        (kind, convert): `convert(value)` gives a value of that kind, None for none (a code
        looked up by id). `at[i]` is where column i is in each row (default: i). A "name" is
        text the program writes (codes, logins, states): it never starts with a formula
        character and never needs csv quotes, so it is written as it is."""
        if self.format is OutputFormat.TABLE:
            raise ValueError("stream() writes json or csv")
        at = list(at) if at is not None else list(range(len(columns)))
        render = _compile(list(columns), list(kinds), at, self.format is OutputFormat.JSON,
                          self.tz)
        out = self.stdout
        if self.format is OutputFormat.CSV:
            if self.excel and not self._bom_written:
                out.write("\ufeff")
                self._bom_written = True
            csv.writer(out, lineterminator="\n").writerow([safe_cell(c) for c in columns])
            for batch in batches:
                if batch:
                    out.write("\n".join(render(batch)))
                    out.write("\n")
            return
        out.write("[")
        first = True
        for batch in batches:
            if batch:
                out.write(("\n  " if first else ",\n  ") + ",\n  ".join(render(batch)))
                first = False
        out.write("\n]\n" if not first else "]\n")

    def sql_render(self) -> SqlRender:
        """The rules of stream() as SQL, for SQLite to render rows (stream_blocks())."""
        if self.format is OutputFormat.TABLE:
            raise ValueError("sql_render() renders json or csv")
        return SqlRender(self.format is OutputFormat.JSON, self.tz)

    def stream_blocks(self, columns: Sequence[str], blocks: Iterable[str | bytes]) -> None:
        """Rows SQLite rendered as sql_render() says, a block of them at a time (text, or UTF-8
        bytes: written to the byte stream under stdout where that writes the same bytes), in
        the frame stream() writes: the csv header (after --excel's mark), or json's array."""
        if self.format is OutputFormat.TABLE:
            raise ValueError("stream_blocks() writes json or csv")
        out = self.stdout
        raw = _binary(out)
        if raw is not None:
            out.flush()

        def write(text: str | bytes) -> None:
            if isinstance(text, bytes) and _NUL in text:  # NUL characters (SqlRender.python)
                text = text.replace(_NUL, b"\0")
            if raw is not None:
                raw.write(text if isinstance(text, bytes) else text.encode())
            else:
                out.write(text if isinstance(text, str) else text.decode())

        if self.format is OutputFormat.CSV:
            import io

            head = io.StringIO()
            if self.excel and not self._bom_written:
                head.write("\ufeff")
                self._bom_written = True
            csv.writer(head, lineterminator="\n").writerow([safe_cell(c) for c in columns])
            write(head.getvalue())
            for block in blocks:
                if block:
                    write(block)
                    write("\n")
        else:
            write("[")
            first = True
            for block in blocks:
                if block:
                    write("\n  " if first else ",\n  ")
                    write(block)
                    first = False
            write("\n]\n" if not first else "]\n")
        if raw is not None:
            raw.flush()

    def _plain(self) -> bool:
        return bool(os.environ.get("NO_COLOR")) or not _isatty(self.stdout)

    def _console(self):
        from rich.console import Console

        plain = self._plain()
        return Console(file=self.stdout, no_color=plain, color_system=None if plain else "auto",
                       width=None if _isatty(self.stdout) else 1000, highlight=False,
                       emoji=False, markup=False)

    def _table(self, cols: Sequence[str], rows: Sequence[Row], *, title: str | None) -> None:
        if not _isatty(self.stdout):
            self._plain_table(cols, rows, title=title)
            return
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

    def _plain_table(self, cols: Sequence[str], rows: Sequence[Row], *,
                     title: str | None) -> None:
        """The table for a pipe or a file: the layout of the terminal's plain table (a title, a
        header, a rule, one line per row, columns one space apart, numbers to the right), written
        directly — rich lays out a table cell by cell, seconds for the thousands of rows of a
        big book's `due` (issue 5). Wide (CJK) characters count two columns; control characters
        are not passed through to the terminal."""
        text_of = self._text
        heads = [c.replace("_", " ") for c in cols]
        right = [False] * len(cols)
        columns = []   # per column, the text of each row's cell
        for i, c in enumerate(cols):
            texts = []
            for r in rows:
                value = r.get(c)
                if value.__class__ is not str:
                    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                        right[i] = True
                    value = text_of(value)
                texts.append(value)
            columns.append(texts)
        everything = "".join(heads) + "".join("".join(texts) for texts in columns)
        if everything.isascii() and everything.isprintable():
            # every cell one line of plain characters (the usual case): a column's width is its
            # longest text, each cell padded by str.ljust / rjust
            widths = [max(len(h), *map(len, texts)) if texts else len(h)
                      for h, texts in zip(heads, columns)]
            total = sum(widths) + 3 * len(widths) - 1 if widths else 0
            pads = [str.rjust if numeric else str.ljust for numeric in right]
            out = [_printable(title)] if title else []
            out.append((" " + "   ".join(pad(h, w) for h, w, pad in zip(heads, widths, pads))
                        ).rstrip())
            out.append("─" * total)
            padded = [[pad(t, w) for t in texts] for texts, w, pad in zip(columns, widths, pads)]
            out.extend((" " + "   ".join(cells)).rstrip() for cells in zip(*padded))
            self.stdout.write("\n".join(out) + "\n")
            return
        self._plain_cells(heads, rows, cols, right, title=title)

    def _plain_cells(self, heads: list[str], rows: Sequence[Row], cols: Sequence[str],
                     right: list[bool], *, title: str | None) -> None:
        """_plain_table for cells of several lines, wide (CJK) or control characters."""
        from rich.cells import cell_len

        def width(text: str) -> int:
            return len(text) if text.isascii() else cell_len(text)

        text_of = self._text
        widths = [width(h) for h in heads]
        body = []   # per row: per column (lines of the cell, their widths)
        for r in rows:
            cells = []
            for i, c in enumerate(cols):
                value = r.get(c)
                text = value if type(value) is str else text_of(value)
                if not text.isprintable():
                    text = _printable(text)
                lines = text.split("\n") if "\n" in text else [text]
                sizes = [width(line) for line in lines]
                widths[i] = max(widths[i], *sizes)
                cells.append((lines, sizes))
            body.append(cells)

        def line(cells: Sequence[tuple[str, int]]) -> str:
            out = []
            for (text, size), full, numeric in zip(cells, widths, right):
                pad = " " * (full - size)
                out.append(f" {pad}{text} " if numeric else f" {text}{pad} ")
            return " ".join(out).rstrip()

        total = sum(widths) + 3 * len(widths) - 1 if widths else 0
        out = [_printable(title)] if title else []
        out.append(line([(h, width(h)) for h in heads]))
        out.append("─" * total)
        for cells in body:
            if all(len(lines) == 1 for lines, _ in cells):
                out.append(line([(lines[0], sizes[0]) for lines, sizes in cells]))
                continue
            for k in range(max(len(lines) for lines, _ in cells)):
                out.append(line([(lines[k], sizes[k]) if k < len(lines) else ("", 0)
                                 for lines, sizes in cells]))
        self.stdout.write("\n".join(out) + "\n")

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
_PLAIN = (str, int, float, bool)   # json values _stream_json lays out itself
_AS_IS = frozenset({str, int, bool, type(None)})   # values _json gives back unchanged


def safe_cell(text: str) -> str:
    """A text cell a spreadsheet will show, never evaluate (=HYPERLINK(…) becomes '=HYPERLINK(…))."""
    return "'" + text if text.startswith(_FORMULA_START) else text


# -- stream(): stored values rendered by one compiled expression per row ------------------------
# What a stored value is (how SQLite keeps it), and so how it is shown:
STORED_KINDS = (
    "name",     # text the program writes (codes, logins, states): as it is
    "text",     # text a person typed: neutralised and quoted as csv needs
    "int",      # an integer
    "bool",     # 0 / 1: yes / no (json: false / true)
    "money",    # integer cents (Money, Fixed(2)): "1200.50"
    "instant",  # UTC instant as ISO text ("2026-03-01 10:00:00.000000"): local ISO with offset
    "date",     # ISO date text: as it is
    "json",     # JSON text: compact JSON in csv, nested in json
)


def _csv_quotes(char: str) -> bool:
    """Whether this Python's csv writer quotes a field holding `char` (it changed across
    versions for a carriage return): the fast writer quotes exactly where csv.writer does."""
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([f"a{char}b", "c"])
    return buf.getvalue().startswith('"')


_MUST_QUOTE = tuple(c for c in (",", "\n", "\r") if _csv_quotes(c))


def _csv_text(text: str) -> str:
    """A text cell as _write_csv writes it: neutralised (safe_cell), then quoted if need be."""
    if text.startswith(_FORMULA_START):
        text = "'" + text
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    for c in _MUST_QUOTE:
        if c in text:
            return '"' + text + '"'
    return text


def _money(places: int = 2) -> Callable[[int], str]:
    """Integer units of 10**-places to the text str(Decimal) gives: 123450 → "1234.50"."""
    scale = 10 ** places

    def money(units: int) -> str:
        if units < 0:
            whole, part = divmod(-units, scale)
            return f"-{whole}.{part:0{places}d}"
        whole, part = divmod(units, scale)
        return f"{whole}.{part:0{places}d}"

    return money


class _LocalTimes(dict):
    """Stored UTC instants ("2026-03-01 10:00:00.000000") to local ISO text with offset
    ("2026-03-01T18:00:00+08:00"), as datetime.astimezone(tz).isoformat(timespec="seconds")
    gives, without a datetime per value: keyed by the UTC hour (by the minute where the offset
    is not whole hours), the local text before the minutes and the offset after them are looked
    up once; an hour (or minute) in which the offset changes, or odd text, maps to None and the
    caller converts that value the slow way (`exact`)."""

    LIMIT = 100_000  # keys kept at most (flat memory whatever the span of the book)

    def __init__(self, tz: tzinfo | None, quote: str = "") -> None:
        super().__init__()
        from datetime import timezone

        self.tz, self.quote, self.utc = tz, quote, timezone.utc
        probe = datetime.now(self.utc).astimezone(tz) if tz is not None else None
        whole_hours = probe is None or probe.utcoffset().total_seconds() % 3600 == 0
        self.width = 13 if whole_hours else 16  # "YYYY-MM-DD HH" or "YYYY-MM-DD HH:MM"

    def exact(self, text: str) -> str:
        value = datetime.fromisoformat(text)
        value = value.replace(tzinfo=self.utc) if value.tzinfo is None else value
        local = value.astimezone(self.tz) if self.tz else value
        return self.quote + local.isoformat(timespec="seconds") + self.quote

    def __missing__(self, key: str):
        from datetime import timedelta

        if len(self) >= self.LIMIT:
            self.clear()
        found = None
        if len(key) == self.width and key[4] == "-" and key[10] == " ":
            try:
                start = datetime.fromisoformat(key + (":00:00" if self.width == 13 else ":00"))
            except ValueError:
                start = None
            if start is not None:
                start = start.replace(tzinfo=self.utc)
                span = timedelta(hours=1) if self.width == 13 else timedelta(minutes=1)
                first = start.astimezone(self.tz) if self.tz else start
                last = (start + span - timedelta(microseconds=1))
                last = last.astimezone(self.tz) if self.tz else last
                offset = first.utcoffset()
                whole = offset.total_seconds() % span.total_seconds() == 0
                if whole and offset == last.utcoffset():
                    text = first.isoformat(timespec="seconds")
                    found = (self.quote + text[:self.width], text[19:] + self.quote)
        self[key] = found
        return found


def _cells(as_json: bool, tz: tzinfo | None) -> tuple[dict[str, Any], dict[str, str], str]:
    """The namespace and the Python expression of each stored kind for a value v that is not
    None, and the text of None: what _compile inlines per column and what the SQL renderer
    calls for the values it leaves to Python (_python_cell)."""
    from json import JSONDecoder, JSONEncoder
    from json.encoder import encode_basestring

    times = _LocalTimes(tz, '"' if as_json else "")
    ns: dict[str, Any] = {
        "Q": _csv_text, "FS": _FORMULA_START, "ENC": encode_basestring,
        "M": _money(2), "P2": tuple(f"{n:02d}" for n in range(100)), "T": times,
        "TX": times.exact, "DQ": '"',
    }

    decode = JSONDecoder().decode

    def value(stored: Any) -> Any:  # as SQLAlchemy's JSON type reads it back from SQLite,
        # where a column of that type has numeric affinity: "-1" is kept as the integer -1
        return stored if stored is None or isinstance(stored, (int, float)) else decode(stored)

    if as_json:  # nested as json.dumps(row, ensure_ascii=False, indent=2) nests it
        nested = JSONEncoder(ensure_ascii=False, indent=2).encode
        ns["JV"] = lambda doc: nested(doc).replace("\n", "\n    ")
    else:  # the JSON text as _payload_text writes it
        compact = JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        ns["JV"] = lambda doc: _csv_text(compact(doc))
    ns["DEC"] = value
    ns["J"] = lambda stored: ns["JV"](value(stored))
    w = times.width
    money = "(f'{v // 100}.{P2[v % 100]}' if v >= 0 else M(v))"
    for k, c in enumerate(_MUST_QUOTE):
        ns[f"Q{k}"] = c
    quoted = " or ".join(["v.startswith(FS)", "DQ in v"]
                         + [f"Q{k} in v" for k in range(len(_MUST_QUOTE))])
    shown = {  # how a value v (not None) of each kind is written
        "name": "ENC(v)" if as_json else "v",
        "text": "ENC(v)" if as_json else f"(Q(v) if {quoted} else v)",
        "int": "str(v)",
        "bool": "(YES if v else NO)",
        "money": f"DQ + {money} + DQ" if as_json else money,
        "instant": f"((h := T[v[:{w}]]) and h[0] + v[{w}:19] + h[1] or TX(v))",
        "date": "DQ + v + DQ" if as_json else "v",
    }
    ns.update(E="", NUL="null", YES="true" if as_json else "yes", NO="false" if as_json else "no")
    return ns, shown, "NUL" if as_json else "E"


def _field(kind: str, value: str, shown: dict[str, str], none: str, as_json: bool,
           convert: str | None = None) -> str:
    """The Python expression writing the stored value `value` (an expression) of this kind;
    `convert`: the name of a function giving the value to write (None for none)."""
    if kind == "json":  # `convert` takes the decoded document (a masked payload)
        return f"J({value})" if convert is None else f"JV({convert}(DEC({value})))"
    if convert is not None:
        test = f"(v := {value}) is not None and (v := {convert}(v)) is not None"
        return f"({shown[kind]} if {test} else {none})"
    if not as_json and kind in ("name", "date"):  # None and "" both write nothing
        return f"({value} or E)"
    return f"({shown[kind]} if (v := {value}) is not None else {none})"


def _compile(cols: list[str], kinds: list[Any], at: list[int], as_json: bool,
             tz: tzinfo | None) -> Callable[[Sequence[Sequence[Any]]], list[str]]:
    """One function rendering a batch of rows to lines: a list comprehension joining an inline
    expression per column (the common cases inline, the rare ones a call) — str.join over a
    tuple, which costs a third of an f-string's formatting of the same fields."""
    from json import dumps

    ns, shown, none = _cells(as_json, tz)
    fields = []  # one expression per column over the row r (v, h: scratch names)
    for i, kind in enumerate(kinds):
        convert = None
        if isinstance(kind, tuple):
            kind, convert = kind
            ns[f"F{i}"] = convert
        if kind not in STORED_KINDS or kind == "json" and convert is not None:
            raise ValueError(f"no stored kind {kind!r} (column {cols[i]!r})")
        fields.append(_field(kind, f"r[{at[i]}]", shown, none, as_json,
                             f"F{i}" if convert is not None else None))
    if len(cols) < 2:  # csv writes a lone empty field as "": not worth a case of its own
        raise ValueError("stream() writes rows of two columns or more")
    if as_json:  # the layout of json.dumps(row, indent=2), indented once more
        keys = [dumps(c, ensure_ascii=False) for c in cols]
        parts = [repr("{\n    " + keys[0] + ": "), fields[0]]
        for key, field in zip(keys[1:], fields[1:]):
            parts += [repr(",\n    " + key + ": "), field]
        parts.append(repr("\n  }"))
        line = "''.join((" + ", ".join(parts) + "))"
    else:
        line = "','.join((" + ", ".join(fields) + "))"
    source = f"def render(rows):\n    return [{line} for r in rows]\n"
    exec(compile(source, "<insurtrack.cli.output stream>", "exec"), ns)
    return ns["render"]


# -- stream_blocks(): the same rows rendered by SQLite -------------------------------------------
# On a big SQLite book even the compiled expression above costs some 4 µs a row in Python. The
# rules of _cells are written again here as SQL over the stored values (SqlRender), so that
# SQLite renders whole rows — many to one fetched value — and Python only writes them (issue 5:
# an export of a million policies in seconds). What SQL cannot say exactly and cheaply (an amount
# beyond 10**14 cents, an instant outside 1970–2099 or where the offset is not whole minutes, a
# JSON document, a value converted in Python such as a masked phone number) is left to the Python
# expression of _cells, registered as an SQL function: the bytes are the same either way
# (tests/reports/test_export.py compares the paths on awkward values).

_SQL_SPAN = ("1970-01-01 00:00:00", "2100-01-01 00:00:00")  # UTC, as instants are stored
_NUL = b"\xff"  # a NUL character of a rendered cell, in SQL: a byte UTF-8 text never holds
_SQL_MONEY = 10 ** 14 - 1  # printf('%.2f', cents / 100.0) is exact below 16 digits
_SQL_STEP = 2 * 86400  # seconds between two readings of a zone's offset (_offsets)
_OFFSETS: dict[Any, list[tuple[int, int]]] = {}


def sql_literal(text: str) -> str:
    """An SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class SqlRender:
    """The renderer's rules as SQL, for one format and timezone (Output.sql_render): cell()
    renders a stored value, row() a row of rendered cells; rows of a block are joined with
    `separator`; `functions` (name, number of arguments, Python function) are to be registered
    on the connection that runs the SQL."""

    def __init__(self, as_json: bool, tz: tzinfo | None) -> None:
        self.as_json, self.tz = as_json, tz
        self.separator = ",\n  " if as_json else "\n"
        self._ns, self._shown, self._none = _cells(as_json, tz)
        self.functions: list[tuple[str, int, Callable[..., Any]]] = [
            ("it_money", 1, self.python("money")), ("it_instant", 1, self.python("instant")),
            ("it_json", 1, self.python("json")), ("it_text", 1, self.python("text")),
            ("it_cents", 1, _money(2))]

    def python(self, kind: str, convert: Callable[[Any], Any] | None = None
               ) -> Callable[[Any], str | bytes]:
        """The Python function writing one stored value of this kind (after `convert`), as
        stream() writes it: what the SQL calls where it does not render a value itself. A NUL
        character in what it writes comes back as the byte _NUL (printf would end the text
        there; stream_blocks() turns it back)."""
        ns = dict(self._ns, F=convert)
        field = _field(kind, "v", self._shown, self._none, self.as_json,
                       "F" if convert is not None else None)
        write = eval(f"lambda v: {field}", ns)

        def safe(v: Any) -> str | bytes:
            text = write(v)
            return text if "\0" not in text else text.encode().replace(b"\0", _NUL)

        return safe

    def call(self, kind: str, x: str, convert: Callable[[Any], Any] | None = None) -> str:
        """SQL writing x through python(kind, convert): a Python call per value."""
        name = f"it_cell{len(self.functions)}"
        self.functions.append((name, 1, self.python(kind, convert)))
        return f"{name}({x})"

    def cell(self, kind: Any, x: str) -> str:
        """SQL writing the stored value x of this kind (STORED_KINDS, or (kind, convert) as
        stream() takes them) as stream() writes it; in csv NULL for an empty cell (printf's %s
        writes it as nothing). x may be evaluated several times: a column, or cheap."""
        if isinstance(kind, tuple):
            kind, convert = kind
            if kind not in STORED_KINDS:
                raise ValueError(f"no stored kind ({kind!r}, convert)")
            return self.call(kind, x, convert)
        cents = f"{x} BETWEEN -{_SQL_MONEY} AND {_SQL_MONEY}"
        if kind == "instant":
            return self._instant(x)
        if kind == "json":
            return f"it_json({x})"
        if self.as_json:
            return {
                "name": f"json_quote({x})",
                "text": f"json_quote({x})",
                "int": f"coalesce({x}, 'null')",
                "bool": f"CASE WHEN {x} IS NULL THEN 'null' WHEN {x} THEN 'true' ELSE 'false' END",
                "money": (f"CASE WHEN {cents} THEN printf('\"%.2f\"', {x} / 100.0) "
                          f"WHEN {x} IS NOT NULL THEN it_money({x}) ELSE 'null' END"),
                "date": f"CASE WHEN {x} IS NULL THEN 'null' ELSE '\"' || {x} || '\"' END",
            }[kind]
        if kind == "text":  # safe_cell, then quoted as the csv module quotes (_csv_text);
            # GLOB reads text up to a NUL character, Python all of it
            quoted = sql_literal("*" + _glob_class(['"', *_MUST_QUOTE]) + "*")
            formula = sql_literal(_glob_class(_FORMULA_START) + "*")
            return (f"CASE WHEN instr({x}, char(0)) THEN it_text({x}) "
                    f"WHEN {x} GLOB {quoted} THEN '\"' || CASE WHEN {x} GLOB {formula} "
                    f"THEN '''' ELSE '' END || replace({x}, '\"', '\"\"') || '\"' "
                    f"WHEN {x} GLOB {formula} THEN '''' || {x} ELSE {x} END")
        return {
            "name": x,
            "int": x,
            "bool": f"CASE WHEN {x} IS NULL THEN NULL WHEN {x} THEN 'yes' ELSE 'no' END",
            "money": (f"CASE WHEN {cents} THEN printf('%.2f', {x} / 100.0) "
                      f"WHEN {x} IS NOT NULL THEN it_money({x}) END"),
            "date": x,
        }[kind]

    def line(self, text: str, *amounts: str) -> str:
        """SQL for a piece of a cell (a product line): the text, then each amount (integer
        cents) as str(Decimal) writes it, joined with ':' — NULL if any is NULL. One printf
        where it is exact (amounts below 10**14 cents, no NUL character in the text, which
        would end it there), else joined piece by piece."""
        fast = " AND ".join([f"NOT instr({text}, char(0))"]
                            + [f"{a} BETWEEN -{_SQL_MONEY} AND {_SQL_MONEY}" for a in amounts])
        shape = sql_literal(":".join(["%s"] + ["%.2f"] * len(amounts)))
        values = ", ".join([text] + [f"{a} / 100.0" for a in amounts])
        slow = " || ':' || ".join([text] + [f"it_cents({a})" for a in amounts])
        return f"CASE WHEN {fast} THEN printf({shape}, {values}) ELSE {slow} END"

    def row(self, columns: Sequence[str], cells: Sequence[str]) -> str:
        """SQL for one row of rendered cells, laid out as stream() lays it out."""
        from json import dumps

        if len(columns) < 2 or len(cells) != len(columns):
            raise ValueError("a row of two columns or more, a cell for each")
        if self.as_json:  # the layout of json.dumps(row, indent=2), indented once more
            keys = [dumps(c, ensure_ascii=False).replace("%", "%%") for c in columns]
            texts = ["{\n    " + keys[0] + ": "] + [f",\n    {k}: " for k in keys[1:]]
            end = "\n  }"
        else:
            texts, end = [""] + [","] * (len(columns) - 1), ""
        pieces = []  # printf takes 127 arguments at most: a piece per 100 cells
        for k in range(0, len(cells), 100):
            shape = "".join(t + "%s" for t in texts[k:k + 100])
            if k + 100 >= len(cells):
                shape += end
            pieces.append(f"printf({sql_literal(shape)}, {', '.join(cells[k:k + 100])})")
        return " || ".join(pieces)

    def _instant(self, x: str) -> str:
        """A stored UTC instant x ("2026-03-01 16:00:00.000000") as _LocalTimes writes it: local
        ISO 8601 to the second (microseconds cut, never rounded) with the offset. The latest
        stretch of the zone (_offsets) is tried first; before it a binary search over the
        stretches names the offset, and the SQL of each offset is written once. For an offset
        of whole hours the local hour comes from a CASE over the stored one while the day stays
        the same; datetime() over the instant cut to the second takes the other instants (and
        offsets of whole minutes). Outside the span, and where the offset has seconds (local
        mean time): it_instant."""
        from datetime import timezone

        q = '"' if self.as_json else ""
        stretches = _offsets(self.tz)

        def text(t: int) -> str:
            return datetime.fromtimestamp(t, timezone.utc).strftime("'%Y-%m-%d %H:%M:%S'")

        def leaf(seconds: int) -> str:
            if seconds % 60:
                return f"it_instant({x})"
            sign, size = ("-" if seconds < 0 else "+"), abs(seconds)
            shown = sql_literal(f"{sign}{size // 3600:02d}:{size % 3600 // 60:02d}{q}")
            minutes = seconds // 60
            slow = (f"{sql_literal(q)} || replace(datetime(substr({x}, 1, 19), "
                    f"'{minutes:+d} minutes'), ' ', 'T') || {shown}")
            if minutes % 60:
                return slow
            hours = minutes // 60
            same = " ".join(f"WHEN '{h:02d}' THEN 'T{h + hours:02d}'" for h in range(24)
                            if 0 <= h + hours < 24)
            fast = (f"substr({x}, 1, 10) || CASE substr({x}, 12, 2) {same} END "
                    f"|| substr({x}, 14, 6) || {shown}")
            if q:
                fast = f"'\"' || {fast}"
            return f"coalesce({fast}, {slow})"  # NULL from the CASE: another day

        def search(a: int, b: int) -> str:  # which offset, within stretches[a:b], b > a
            if b - a == 1:
                return str(older.index(stretches[a][1]))
            mid = (a + b) // 2
            return (f"CASE WHEN {x} < {text(stretches[mid][0])} THEN {search(a, mid)} "
                    f"ELSE {search(mid, b)} END")

        first, last = (sql_literal(t) for t in _SQL_SPAN)
        latest = text(stretches[-1][0])
        out = [f"CASE WHEN {x} >= {latest} AND {x} < {last} THEN {leaf(stretches[-1][1])}"]
        older = sorted({seconds for _, seconds in stretches[:-1]})  # each written out once
        if older:
            cases = " ".join(f"WHEN {k} THEN {leaf(seconds)}" for k, seconds in enumerate(older))
            out.append(f"WHEN {x} >= {first} AND {x} < {latest} "
                       f"THEN CASE {search(0, len(stretches) - 1)} {cases} END")
        out.append(f"WHEN {x} IS NOT NULL THEN it_instant({x})")
        out.append("ELSE 'null' END" if self.as_json else "END")
        return " ".join(out)


def _offsets(tz: tzinfo | None) -> list[tuple[int, int]]:
    """The stretches of constant UTC offset of `tz` within _SQL_SPAN: (first second, offset in
    seconds), in order. Found by reading the offset every other day and narrowing each change
    down to its second (some 10 ms), which assumes that no zone changes its offset and back
    within two days: the shortest stretch of the tz database between 1970 and 2100 lasts 6.96
    days (Brazil's 2000 summer time, Gaza's rules). Kept per zone for the process."""
    from datetime import timezone

    if tz in _OFFSETS:
        return _OFFSETS[tz]
    utc = timezone.utc
    lo, hi = (int(datetime.fromisoformat(t).replace(tzinfo=utc).timestamp()) for t in _SQL_SPAN)
    if tz is None:
        found = [(lo, 0)]
    else:
        at = datetime.fromtimestamp

        def offset(t: int) -> int:
            return int(at(t, tz).utcoffset().total_seconds())

        found = [(lo, offset(lo))]
        t = lo
        while t < hi - 1:
            step = min(t + _SQL_STEP, hi - 1)
            while offset(step) != found[-1][1]:  # a change in (t, step]: find its first second
                a, b = t, step
                while b - a > 1:
                    mid = (a + b) // 2
                    if offset(mid) == found[-1][1]:
                        a = mid
                    else:
                        b = mid
                found.append((b, offset(b)))
                t = b
            t = step
    _OFFSETS[tz] = found
    return found


def _glob_class(chars: Iterable[str]) -> str:
    """A GLOB character class matching exactly `chars` ('-' first, where it is a literal)."""
    chars = sorted(set(chars), key=lambda c: (c != "-", c))
    if any(c in "]^" for c in chars):
        raise ValueError(f"no GLOB class for {chars!r}")
    return "[" + "".join(chars) + "]"


def _binary(out: Any) -> Any:
    """The byte stream under the text stream `out`, when writing UTF-8 bytes there writes what
    `out` would (UTF-8, no line-end translation); None otherwise."""
    import codecs

    buffer = getattr(out, "buffer", None)
    if buffer is None or os.linesep != "\n":
        return None
    try:
        return buffer if codecs.lookup(out.encoding).name == "utf-8" else None
    except (AttributeError, LookupError, TypeError):
        return None


_UNPRINTABLE = {c: None for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)]}
_UNPRINTABLE[0x09] = " "


def _printable(text: str) -> str:
    """Text for a terminal: control characters (escape sequences, carriage returns, bells…)
    removed, tabs as spaces; line breaks kept (a cell of several lines)."""
    return text.translate(_UNPRINTABLE) if not text.isprintable() else text


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
