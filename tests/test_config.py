"""Configuration: declared as data, discovered by precedence, every error names file and key."""

from pathlib import Path

import pytest

from insurtrack import config
from insurtrack.errors import ConfigError


def test_example_file_is_generated_from_the_spec():
    committed = (Path(__file__).parent.parent / "config.example.toml").read_text(encoding="utf-8")
    assert committed == config.render_example(), "regenerate config.example.toml from config.SPEC"


def test_example_documents_every_key_and_loads_to_the_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(config.render_example(), encoding="utf-8")
    settings = config.load(str(path), env={})
    for s in config.SPEC:
        assert settings[s.key] == s.default
        if s.type is dict:  # a table: [notify.departments], [sla.<rule>]
            assert f"\n[{s.key}" in config.render_example()
        else:
            assert s.key.rpartition(".")[2] + " = " in config.render_example()


def test_discovery_precedence(tmp_path, monkeypatch):
    flag, env_file = tmp_path / "flag.toml", tmp_path / "env.toml"
    assert config.find_config_path(str(flag), {"INSURTRACK_CONFIG": str(env_file)}) == (flag, True)
    assert config.find_config_path(None, {"INSURTRACK_CONFIG": str(env_file)}) == (env_file, True)
    path, named = config.find_config_path(None, {})
    assert not named and path == config.default_config_path()


def test_missing_default_file_means_defaults(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "default_config_path", lambda: tmp_path / "absent.toml")
    settings = config.load(None, env={})
    assert settings["display.timezone"] == "Asia/Shanghai" and not settings.loaded_from_file


def test_named_file_must_exist(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(str(tmp_path / "nope.toml"), env={})
    assert "nope.toml" in str(err.value) and "not found" in str(err.value)


@pytest.mark.parametrize("body,key,words", [
    ('[display]\ntimezone = "Mars/Olympus"\n', "display.timezone", "unknown IANA timezone"),
    ("[policy]\ngrace_days = -1\n", "policy.grace_days", "0 or more"),
    ('[policy]\ngrace_days = "sixty"\n', "policy.grace_days", "must be an integer"),
    ("[policy]\ngrace_days = true\n", "policy.grace_days", "must be an integer"),
    ('[database]\nurl = "mysql://x/y"\n', "database.url", "unsupported database URL"),
    ("[plan]\nproducts = ['a', 'a']\n", "plan.products", "must not repeat"),
    ("[displya]\ntimezone = 'UTC'\n", "displya.timezone", "unknown key"),
])
def test_bad_values_name_the_file_and_key(tmp_path, body, key, words):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load(str(path), env={})
    message = str(err.value)
    assert str(path) in message and key in message and words in message
    assert err.value.exit_code == 6


def test_broken_toml_is_reported_with_its_position(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[display\ntimezone = 1\n", encoding="utf-8")
    _, exists, issues = config.check(str(path), env={})
    assert exists and len(issues) == 1 and "not valid TOML" in str(issues[0]) and "line 1" in str(issues[0])


def test_check_reports_every_problem(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text('[display]\ntimezone = "Nowhere"\n[policy]\ngrace_days = -5\n', encoding="utf-8")
    _, _, issues = config.check(str(path), env={})
    assert {i.key for i in issues} == {"display.timezone", "policy.grace_days"}


def test_init_check_path_and_show_through_the_cli(bare_cli, tmp_path):
    target = tmp_path / "new" / "config.toml"
    result = bare_cli.ok("--config", str(target), "init", as_=None)
    assert target.read_text(encoding="utf-8") == config.render_example()
    assert str(target) in result.stderr
    bare_cli.fails(4, "--config", str(target), "init", as_=None, expect="already exists")
    bare_cli.ok("--config", str(target), "init", "--force", as_=None)
    assert bare_cli.ok("--config", str(target), "config", "path", as_=None).stdout.strip() == str(target)
    assert "ok" in bare_cli.ok("--config", str(target), "config", "check", as_=None).stderr
    rows = bare_cli.json("--config", str(target), "config", "show", as_=None)
    assert {r["key"] for r in rows} == {s.key for s in config.SPEC}


def test_config_check_exits_6_naming_file_and_key(bare_cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[policy]\ngrace_days = -3\n", encoding="utf-8")
    result = bare_cli.fails(6, "--config", str(path), "config", "check", as_=None)
    assert f"{path}: policy.grace_days" in result.stderr


def test_a_command_under_a_broken_config_exits_6(bare_cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[display]\ntimezone = "Atlantis/Capital"\n', encoding="utf-8")
    bare_cli.fails(6, "--config", str(path), "customer", "list", as_=None, expect="display.timezone")
