"""Issuer storage: SQLModel tables, keyword-only repository functions and Alembic migrations."""
