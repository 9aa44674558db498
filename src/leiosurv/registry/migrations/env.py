"""Alembic environment: runs on the connection leiosurv hands over (``config.attributes['connection']``)."""

from alembic import context

from leiosurv.registry._tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the registry always passes its connection
    raise RuntimeError("leiosurv runs its migrations with leiosurv.registry.upgrade(), not the alembic command")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
