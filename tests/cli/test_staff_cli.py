"""Staff and identity: who acts comes from --as > INSURTRACK_USER > config > login name, and
every change records its actor."""

import getpass

from sqlalchemy import select

from insurtrack.domain import models as m


def test_first_staff_member_bootstraps_then_others_need_a_known_actor(bare_cli):
    result = bare_cli("customer", "list", as_="nobody")
    assert result.exit_code == 5 and "staff add" in result.stderr
    bare_cli.ok("staff", "add", "mgr", "--name", "Ma Guo", "--dept", "manager", as_="mgr")
    bare_cli.fails(5, "staff", "add", "x", "--name", "X", "--dept", "sales", as_="nobody",
                   expect="unknown person 'nobody' (from --as)")
    me = {"INSURTRACK_USER": "mgr"}  # from now on the manager at the keyboard is mgr
    bare_cli.ok("staff", "add", "sales1", "--name", "Sun Li", "--dept", "sales", "--email",
                "sun@example.com", "--phone", "+86 21 5555 0101", as_=None, env=me)
    rows = bare_cli.json("staff", "list", as_="sales1", env=me)
    assert [(r["login"], r["department"]) for r in rows] == [("mgr", "manager"), ("sales1", "sales")]


def test_actor_precedence(cli, config_file):
    cli.ok("customer", "add", "A", as_="sally")
    cli.ok("customer", "add", "B", as_=None, env={"INSURTRACK_USER": "sid"})
    config_file.write_text(config_file.read_text().replace('name = ""', 'name = "sally"', 1))
    cli.ok("customer", "add", "C", as_=None, env={"INSURTRACK_USER": None})
    cli.ok("customer", "add", "D", "--owner", "sid", as_="boss", env={"INSURTRACK_USER": "boss"})
    config_file.write_text(config_file.read_text().replace('name = "sally"', 'name = "boss"', 1))
    cli.ok("customer", "add", "E", as_="sid", env={"INSURTRACK_USER": None})  # boss delegates
    with cli.engine.connect() as conn:
        actors = conn.execute(
            select(m.Staff.code).join(m.Event, m.Event.actor_id == m.Staff.id)
            .where(m.Event.type == "customer.added").order_by(m.Event.id)).scalars().all()
    assert actors == ["sally", "sid", "sally", "boss", "sid"]


def test_acting_as_someone_else_needs_a_manager(cli, config_file):
    """--as another person: the real user (INSURTRACK_USER > user.name > login name) must be an
    active manager; acting as yourself is always fine."""
    cli.ok("customer", "add", "A", as_="sally", env={"INSURTRACK_USER": "boss"})
    cli.ok("customer", "add", "B", as_="sally", env={"INSURTRACK_USER": "sally"})
    cli.fails(5, "customer", "list", as_="boss", env={"INSURTRACK_USER": "sally"},
              expect="--as boss: acting as someone else needs a manager; you are sally "
                     "(sales, from INSURTRACK_USER)")
    cli.fails(5, "customer", "add", "X", as_="sid", env={"INSURTRACK_USER": "sally"},
              expect="you are sally (sales")
    # only --as: the real user is user.name, then the login name
    config_file.write_text(config_file.read_text().replace('name = ""', 'name = "sam"', 1))
    cli.fails(5, "customer", "list", as_="boss", env={"INSURTRACK_USER": None},
              expect="you are sam (service, from user.name in")
    config_file.write_text(config_file.read_text().replace('name = "sam"', 'name = ""', 1))
    login = getpass.getuser()
    if login not in ("boss", "sally"):
        cli.fails(5, "customer", "list", as_="sally", env={"INSURTRACK_USER": None},
                  expect=f"you are {login!r} (from the login name), who is not a registered "
                         "staff member")
    # a deactivated manager cannot delegate any more
    cli.ok("staff", "add", "mia", "--name", "Mia", "--dept", "manager")
    cli.ok("customer", "list", as_="sally", env={"INSURTRACK_USER": "mia"})
    cli.ok("staff", "deactivate", "mia")
    cli.fails(5, "customer", "list", as_="sally", env={"INSURTRACK_USER": "mia"},
              expect="deactivated")
    # an unknown --as is named as such, whoever asks
    cli.fails(5, "customer", "list", as_="ghost", env={"INSURTRACK_USER": "sally"},
              expect="unknown person 'ghost' (from --as)")


def test_the_first_staff_member_must_be_a_manager(bare_cli):
    bare_cli.fails(2, "staff", "add", "s1", "--name", "S", "--dept", "sales", as_="s1",
                   expect="the first staff member must be a manager")
    bare_cli.ok("staff", "add", "m1", "--name", "M", "--dept", "manager", as_="m1")


def test_only_managers_change_staff(cli):
    cli.fails(5, "staff", "add", "x", "--name", "X", "--dept", "sales", as_="sally",
              env={"INSURTRACK_USER": "sally"},
              expect="sally (sales) may not register staff (staff.add): that is for manager")
    cli.fails(5, "staff", "deactivate", "sid", as_="sam", expect="sam (service) may not")
    cli.fails(5, "staff", "activate", "sid", as_="uma", expect="uma (underwriting) may not")


def test_login_name_is_the_last_resort(cli):
    login = getpass.getuser()
    result = cli("customer", "list", as_=None, env={"INSURTRACK_USER": None})
    assert result.exit_code == 5
    assert f"unknown person '{login}' (from the login name)" in result.stderr


def test_deactivated_staff_cannot_act(cli):
    cli.ok("staff", "deactivate", "sid")
    cli.fails(5, "customer", "list", as_="sid", expect="deactivated")
    assert "sid" not in [r["login"] for r in cli.json("staff", "list")]
    assert "sid" in [r["login"] for r in cli.json("staff", "list", "--all")]
    cli.fails(2, "customer", "add", "X", "--owner", "sid", as_="boss", expect="deactivated")
    cli.ok("staff", "activate", "sid")
    cli.ok("customer", "list", as_="sid")


def test_staff_bad_input(cli):
    cli.fails(4, "staff", "add", "sally", "--name", "Again", "--dept", "sales", expect="already exists")
    cli.fails(2, "staff", "add", "bad login", "--name", "X", "--dept", "sales", expect="LOGIN")
    cli.fails(2, "staff", "add", "x", "--name", "X", "--dept", "marketing")
    cli.fails(2, "staff", "add", "x", "--name", "X", "--dept", "sales", "--email", "x@", expect="--email")
    cli.fails(2, "staff", "add", "x", "--name", "", "--dept", "sales", expect="--name")
    cli.fails(3, "staff", "deactivate", "ghost", expect="ghost")
    cli.fails(4, "staff", "deactivate", "boss", as_="boss", expect="yourself")
    cli.fails(4, "staff", "activate", "sally", expect="already active")
