"""The database: engine, schema, migrations and repositories returning domain models."""
