"""`insurtrack customer` through the CLI: T1, L1, K3, output formats and bad input."""

import csv
import io


def add(cli, name="张伟", *extra, as_="sally"):
    return cli.ok("customer", "add", name, "--phone", "13800000001", *extra, as_=as_)


def test_add_show_list_search(cli):
    add(cli, "张伟", "--id-number", "11010519491231002X", "--born", "1949-12-31", "--region", "北京")
    add(cli, "Acme Ltd", "--company", "--founded", "2001-05-01", "--owner", "sid", as_="boss")
    doc = cli.json("customer", "show", "c-000001")
    assert doc["name"] == "张伟" and doc["born"] == "1949-12-31" and doc["owner"] == "sally"
    assert doc["timeline"][0]["event"] == "customer.added" and doc["timeline"][0]["by"] == "sally"
    assert cli.json("customer", "show", "C-000002")["founded"] == "2001-05-01"
    rows = cli.json("customer", "list")
    assert [r["code"] for r in rows] == ["C-000001", "C-000002"]
    assert [r["code"] for r in cli.json("customer", "list", "--company")] == ["C-000002"]
    assert [r["code"] for r in cli.json("customer", "search", "acme")] == ["C-000002"]
    assert [r["code"] for r in cli.json("customer", "list", "--owner", "sid")] == ["C-000002"]
    out = cli.ok("customer", "list", "--format", "csv").stdout
    assert list(csv.reader(io.StringIO(out)))[1][:2] == ["C-000001", "张伟"]
    table = cli.ok("customer", "list").stdout
    assert "C-000002" in table and "Acme Ltd" in table


def test_needs_rate_edit_and_timeline(cli):
    add(cli)
    cli.ok("customer", "needs", "C-000001", "--needs", "retirement income", "--risk-situation",
           "self-employed", "--recommend", "whole-life 500k", as_="sally")
    cli.ok("customer", "rate", "C-000001", "--credit", "b", "--risk", "medium", "--reason",
           "late payer at previous insurer", as_="sally")
    cli.ok("customer", "edit", "C-000001", "--email", "zw@example.com", "--region", "Tianjin",
           as_="sally")
    doc = cli.json("customer", "show", "C-000001")
    assert doc["credit"] == "B" and doc["risk"] == "medium" and doc["email"] == "zw@example.com"
    assert [e["event"] for e in doc["timeline"]] == ["customer.added", "customer.needs",
                                                     "customer.rated", "customer.edited"]
    assert [r["code"] for r in cli.json("customer", "list", "--risk", "medium")] == ["C-000001"]


def test_at_sets_the_business_time(cli):
    add(cli, "Li", "--at", "2026-03-01 18:00")
    assert cli.json("customer", "show", "C-000001")["added_at"] == "2026-03-01T18:00:00+08:00"
    cli.ok("customer", "needs", "C-000001", "--needs", "x", "--at", "30m ago", as_="sally")
    assert cli.json("customer", "show", "C-000001")["timeline"][1]["occurred_at"] == "2026-03-02T08:30:00+08:00"


def test_bad_input_is_refused_and_changes_nothing(cli):
    add(cli)
    cli.fails(2, "customer", "add", "X", "--born", "1990-02-30", as_="sally", expect="--born '1990-02-30'")
    cli.fails(2, "customer", "add", "X", "--born", "31/12/1990", as_="sally", expect="YYYY-MM-DD")
    cli.fails(2, "customer", "add", "X", "--phone", "call me", as_="sally", expect="--phone")
    cli.fails(2, "customer", "add", "X", "--email", "nope", as_="sally", expect="--email")
    cli.fails(2, "customer", "add", "X", "--at", "tomorrow", as_="sally", expect="--at")
    cli.fails(2, "customer", "add", "X", "--at", "2026-03-02 10:00", as_="sally", expect="in the future")
    cli.fails(2, "customer", "add", "  ", as_="sally", expect="NAME")
    cli.fails(2, "customer", "add", "X\x07", as_="sally", expect="control characters")
    cli.fails(5, "customer", "add", "X", as_="sam", expect="sam (service) may not add a customer")
    cli.fails(3, "customer", "add", "X", "--owner", "ghost", as_="sally", expect="ghost")
    cli.ok("customer", "edit", "C-000001", "--id-number", "11010519491231002X", as_="sally")
    cli.fails(4, "customer", "add", "Y", "--id-number", "11010519491231002X", as_="sally",
              expect="already has ID number")
    cli.fails(3, "customer", "show", "C-000404", expect="C-000404")
    cli.fails(3, "customer", "needs", "C-000404", "--needs", "x", expect="C-000404")
    cli.fails(2, "customer", "needs", "C-000001", "--needs", " ", expect="--needs")
    cli.fails(2, "customer", "rate", "C-000001", "--credit", "Z", "--reason", "x")
    cli.fails(2, "customer", "rate", "C-000001", "--reason", "x", expect="--credit/--risk")
    cli.fails(4, "customer", "edit", "C-000001", "--phone", "13800000001", expect="nothing to change")
    cli.fails(2, "customer", "list", "--format", "xml")
    cli.fails(2, "customer", "list", "--risk", "extreme")
    cli.fails(2, "customer", "add", "X", "--at", "2026-03-08 02:30", as_="sally")


def test_a_dst_gap_time_is_refused(cli, config_file):
    text = config_file.read_text().replace('timezone = "Asia/Shanghai"', 'timezone = "America/New_York"')
    config_file.write_text(text)
    cli.clock.advance(days=30)
    cli.fails(2, "customer", "add", "X", "--at", "2026-03-08 02:30", as_="sally",
              expect="does not exist in America/New_York")
