"""The renderer's contract: json and csv are stable, exact and in the configured timezone."""

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurtrack.cli.output import Output

ROWS = [{"code": "P-000001", "amount": Decimal("1200.50"), "due": date(2026, 2, 28),
         "at": datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc), "note": None, "paid": True,
         "name": "张伟, \"Jr\""}]


def render(fmt, method="rows", *args, tz="Asia/Shanghai"):
    out, err = io.StringIO(), io.StringIO()
    o = Output(fmt, tz=ZoneInfo(tz), stdout=out, stderr=err)
    getattr(o, method)(*args)
    return out.getvalue(), err.getvalue()


def test_json_is_exact_and_local():
    out, _ = render("json", "rows", ROWS)
    [row] = json.loads(out)
    assert row == {"code": "P-000001", "amount": "1200.50", "due": "2026-02-28",
                   "at": "2026-03-02T00:30:00+08:00", "note": None, "paid": True,
                   "name": "张伟, \"Jr\""}


def test_csv_quotes_and_keeps_columns():
    out, _ = render("csv", "rows", ROWS, ["code", "amount", "at", "name", "note"])
    parsed = list(csv.reader(io.StringIO(out)))
    assert parsed == [["code", "amount", "at", "name", "note"],
                      ["P-000001", "1200.50", "2026-03-02T00:30:00+08:00", "张伟, \"Jr\"", ""]]


def test_times_follow_the_configured_timezone():
    out, _ = render("json", "rows", ROWS, tz="America/New_York")
    assert json.loads(out)[0]["at"] == "2026-03-01T11:30:00-05:00"


def test_table_is_plain_when_piped_and_says_when_empty():
    out, err = render("table", "rows", ROWS, ["code", "amount", "at"])
    assert "\x1b[" not in out  # no colour codes when stdout is not a terminal
    assert "P-000001" in out and "1200.50" in out and "2026-03-02 00:30" in out
    out, err = render("table", "rows", [], ["code"], )
    assert "no rows" in err


def test_record_nests_sections_in_json_and_drops_them_in_csv():
    record = {"code": "C-000001", "name": "Li"}
    sections = {"timeline": [{"event": "customer.added"}]}
    out, _ = render("json", "record", record, sections)
    assert json.loads(out) == {"code": "C-000001", "name": "Li", "timeline": [{"event": "customer.added"}]}
    out, _ = render("csv", "record", record, sections)
    assert out.splitlines() == ["code,name", "C-000001,Li"]


def test_empty_list_json_is_an_empty_array():
    out, _ = render("json", "rows", [], ["code"])
    assert json.loads(out) == []


def test_csv_neutralises_formulas_in_text_but_not_numbers():
    """Issue 4: cells starting with =, +, -, @ never run as formulas in a spreadsheet."""
    import io
    from decimal import Decimal

    from insurtrack.cli.output import Output

    out = io.StringIO()
    rows = [{"name": "=HYPERLINK(\"http://x\")", "note": "+1 call", "who": "@sam", "amount": Decimal("-12.50")},
            {"name": "-2+3", "note": "\tTab", "who": "李娜", "amount": Decimal("7.00")}]
    Output("csv", stdout=out).rows(iter(rows), ["name", "note", "who", "amount"])
    lines = out.getvalue().splitlines()
    assert lines[0] == "name,note,who,amount"
    assert lines[1] == "\"'=HYPERLINK(\"\"http://x\"\")\",'+1 call,'@sam,-12.50"
    assert lines[2] == "'-2+3,'\tTab,李娜,7.00"


def test_excel_csv_starts_with_a_byte_order_mark_once():
    import io

    from insurtrack.cli.output import Output

    out = io.StringIO()
    Output("csv", stdout=out, excel=True).rows(iter([{"a": "中文"}]), ["a"])
    assert out.getvalue() == "\ufeffa\n中文\n"
    plain = io.StringIO()
    Output("csv", stdout=plain).rows([{"a": "中文"}], ["a"])
    assert plain.getvalue() == "a\n中文\n"


def test_json_streams_a_generator_to_the_same_document():
    import io
    import json

    from insurtrack.cli.output import Output

    def gen():
        for i in range(3):
            yield {"i": i, "t": f"row {i}"}

    out = io.StringIO()
    Output("json", stdout=out).rows(gen(), ["i", "t"])
    assert json.loads(out.getvalue()) == [{"i": i, "t": f"row {i}"} for i in range(3)]


def test_a_table_for_a_pipe_is_aligned_by_display_width():
    """Not a terminal: a title, a header, a rule, one line per row (issue 5: written directly,
    not laid out by rich); CJK characters take two columns, numbers align right, values local."""
    rows = [{"code": "C-000001", "name": "张伟", "premium": Decimal("1200.50"),
             "at": datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc), "paid": True},
            {"code": "C-000002", "name": "Li", "premium": Decimal("80.00"), "at": None,
             "paid": False}]
    out, _ = render("table", "rows", rows, None)
    lines = out.splitlines()
    assert lines[0].split() == ["code", "name", "premium", "at", "paid"]
    assert set(lines[1]) == {"─"}
    assert lines[2] == " C-000001   张伟   1200.50   2026-03-02 00:30   yes"
    assert lines[3] == " C-000002   Li       80.00                      no"


def test_a_table_for_a_pipe_passes_no_control_character_to_the_terminal():
    """An escape sequence, a carriage return or a bell typed into a field is dropped; a line
    break makes the cell two lines; a tab is a space."""
    rows = [{"id": 7, "note": "one\x1b[2J\rtwo\x07\nthree\tfour", "by": "sam"}]
    out, _ = render("table", "rows", rows, ["id", "note", "by"])
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    lines = out.splitlines()
    assert lines[2] == "  7   one[2Jtwo    sam"
    assert lines[3] == "      three four"


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=8),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.decimals(allow_nan=False, allow_infinity=False, places=2,
                                min_value=-10**6, max_value=10**6),
                    st.dates(), st.lists(st.integers(0, 9), max_size=2),
                    st.dictionaries(st.text(max_size=2), st.integers(0, 9), max_size=2))
KEYS = st.sampled_from(["id", "名前", "a\"b", "x\ny"])


# too_slow: the first draw of st.text() builds hypothesis's Unicode table, a second or more on a
# fresh machine (CI failed on it once); the examples themselves are small.
@settings(max_examples=300, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.dictionaries(KEYS, SCALARS, max_size=4), max_size=3),
       cols=st.lists(KEYS, max_size=4, unique=True))
def test_streamed_json_is_what_json_dumps_with_indent_writes(rows, cols):
    """The row-by-row json (laid out by hand for plain values) is byte for byte the document
    json.dumps(…, ensure_ascii=False, indent=2) writes: any keys, values, nesting."""
    out = io.StringIO()
    o = Output("json", tz=ZoneInfo("Asia/Shanghai"), stdout=out)
    o._stream_json(cols, rows)
    expected = json.dumps([{c: o._json(r.get(c)) for c in cols} for r in rows],
                          ensure_ascii=False, indent=2) + "\n"
    assert out.getvalue() == expected


PLAIN_CELLS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
                        st.decimals(allow_nan=False, allow_infinity=False, places=2,
                                    min_value=-10**6, max_value=10**6), st.dates())


@given(rows=st.lists(st.fixed_dictionaries({"a": PLAIN_CELLS, "bb": PLAIN_CELLS, "c_d": PLAIN_CELLS}),
                     min_size=1, max_size=6))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_plain_ascii_table_is_laid_out_as_the_cell_by_cell_table(rows):
    """The pipe's table of one-line ASCII cells (the `due` board's usual case) is written column by
    column with str.ljust / rjust (issue 5): the same text as the general, cell-by-cell layout."""
    cols = ["a", "bb", "c_d"]
    fast, _ = render("table", "rows", rows, cols)
    out = io.StringIO()
    o = Output("table", tz=ZoneInfo("Asia/Shanghai"), stdout=out, stderr=io.StringIO())
    right = [any(isinstance(r[c], (int, Decimal)) and not isinstance(r[c], bool) for r in rows)
             for c in cols]
    o._plain_cells([c.replace("_", " ") for c in cols], rows, cols, right, title=None)
    assert fast == out.getvalue()


def test_sql_money_and_instants_exactly_as_python_writes_them():
    """The SQL of an amount (printf of cents / 100.0: exact below 10**14 cents, beyond that in
    Python) and of an instant, against the Python renderer, value by value: every amount from
    -1000.00 to 1000.00 (a third), large ones, and an instant every 79 hours or so over 200 years
    in zones with summer time."""
    import sqlite3

    from insurtrack.cli.output import SqlRender

    conn = sqlite3.connect(":memory:")
    for as_json in (False, True):
        for zone in ("Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", None):
            tz = ZoneInfo(zone) if zone else None
            render = SqlRender(as_json, tz)
            for name, count, function in render.functions:
                conn.create_function(name, count, function, deterministic=True)
            cents = [*range(-100_000, 100_001, 3), 10**14 - 1, 10**14, -10**14, 2**63 - 1,
                     -(2**63) + 1, 123456789012345678]
            money, python = render.cell("money", "v"), render.python("money")
            got = conn.execute(f"SELECT {money} FROM (SELECT value AS v FROM json_each(?))",
                               (json.dumps(cents),)).fetchall()
            assert [g for (g,) in got] == [python(v) for v in cents]
            start = datetime(1900, 1, 1, tzinfo=timezone.utc)
            stored = [(start + timedelta(minutes=433 * k, microseconds=k % 1000 * 997)).strftime(
                "%Y-%m-%d %H:%M:%S.%f") for k in range(0, 243_000, 11)]
            instant, python = render.cell("instant", "v"), render.python("instant")
            got = conn.execute(f"SELECT {instant} FROM (SELECT value AS v FROM json_each(?))",
                               (json.dumps(stored),)).fetchall()
            assert [g for (g,) in got] == [python(v) for v in stored], (zone, as_json)
