"""Exit 0 when the PostgreSQL database in argv[1] is reachable, creating the database if the
server is up but the database is missing; otherwise print why and exit 1."""

import sys

import psycopg
from sqlalchemy.engine import make_url

url = make_url(sys.argv[1])
params = dict(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
              password=url.password, connect_timeout=5)
try:
    psycopg.connect(dbname=url.database, **params).close()
except psycopg.OperationalError as exc:
    if "does not exist" not in str(exc):
        print(str(exc).strip().splitlines()[0])
        sys.exit(1)
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            conn.execute(f'CREATE DATABASE "{url.database}"')
    except psycopg.Error as exc2:
        print(f"cannot create database {url.database}: {exc2}".strip())
        sys.exit(1)
