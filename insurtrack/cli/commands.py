"""The command tree's table of contents: each top-level command, where it lives, and the one line
`insurtrack --help` shows for it.

The root group (cli/app.py) lists these without importing them and loads a command's module only
when that command runs, asks for its own help or is completed on: building every command's
parameters from its signature costs more than importing typer itself, and `--help`, shell
completion and cron's `due` each need one command at most. This module imports nothing.

Each entry: name -> (module, attribute, summary). The attribute is a `typer.Typer` (a group) or
a function (a single command). tests/cli/test_startup.py loads every entry.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("insurtrack.cli.config_cmd", "init",
             "Write a starter config file, every key documented."),
    "config": ("insurtrack.cli.config_cmd", "app",
               "Locate, check and show the configuration."),
    "staff": ("insurtrack.cli.staff", "app",
              "Staff and their departments."),
    "customer": ("insurtrack.cli.customer", "app",
                 "Customers: profiles, needs conversations (L1), ratings (K3)."),
    "apply": ("insurtrack.cli.apply", "app",
              "Plans and applications: draft to submission (L2, L3)."),
    "underwrite": ("insurtrack.cli.underwrite", "app",
                   "Underwriting: the queue and decisions (L4, T4)."),
    "policy": ("insurtrack.cli.policy", "app",
               "Policies: issue, pay, show, cancel, suspend, reinstate (L5, L6)."),
    "renew": ("insurtrack.cli.renew", "app",
              "Installments and renewals: upcoming, reminders, new terms (L6, T7)."),
    "claim": ("insurtrack.cli.claim", "app",
              "Claims from report to payment or rejection (L7, T9-T12)."),
    "revisit": ("insurtrack.cli.revisit", "app",
                "Revisits (T5, T6, T13) and customer feedback (T8)."),
    "report": ("insurtrack.cli.report", "app",
               "Reports for managers (D4, Q2, Q4, K2)."),
    "due": ("insurtrack.cli.due", "app",
            "What is due, at risk or late (T2-T13, Q3); --notify for cron."),
    "export": ("insurtrack.cli.transfer", "export_app",
               "Raw records as CSV or JSON, streamed."),
    "import": ("insurtrack.cli.transfer", "import_app",
               "Bring a book over from spreadsheets (CSV), all or nothing."),
    "verify": ("insurtrack.cli.verify", "app",
               "A second person checks a record; what is unchecked (D2, K4)."),
    "audit": ("insurtrack.cli.audit", "app",
              "A record's history, and the hash-chained trail checked."),
    "backup": ("insurtrack.cli.backup", "backup",
               "A consistent, private copy of the database (D3)."),
    "restore": ("insurtrack.cli.backup", "restore",
                "Replace the database with a checked backup (D3)."),
}
