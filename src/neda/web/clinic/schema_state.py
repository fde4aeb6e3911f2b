"""Whether the database has neda's tables: the commands that work on a clinic's data say so in
one line (and ``restore`` creates them) instead of failing on a missing table."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def unapplied_migrations() -> list[str]:
    """The migrations this database still needs (all of them for a new data folder)."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def database_name() -> str:
    return str(connections[DEFAULT_DB_ALIAS].settings_dict.get("NAME"))
