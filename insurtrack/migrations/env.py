"""Alembic environment: runs against the engine insurtrack hands over (never a URL in a file)."""

from alembic import context
from sqlmodel import SQLModel

import insurtrack.domain.models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.execution_options(insurtrack_write=True).connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("insurtrack migrations run online only")
run_migrations_online()
