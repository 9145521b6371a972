"""SQLite (WAL) sessions and nodes, with ordered migrations; PNG files beside the database."""
