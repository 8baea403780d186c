def test_customer_add_and_show(cli):
    cli.ok("customer", "add", "张伟", "--phone", "13800000001", as_="sally")
    doc = cli.json("customer", "show", "C-000001")
    assert doc["name"] == "张伟"
    assert doc["timeline"][0]["event"] == "customer.added"


def test_bad_born(cli):
    cli.fails(2, "customer", "add", "X", "--born", "2026-02-30", as_="sally", expect="--born")
