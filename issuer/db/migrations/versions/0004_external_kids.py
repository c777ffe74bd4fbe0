"""external institutions: any kid (unique per institution), key thumbprints, X.509 CAs, optional status

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# SQLite's unique constraint on kid has no name; a naming convention lets batch mode find it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _kid_unique_name() -> str:
    return "signing_keys_kid_key" if op.get_bind().dialect.name == "postgresql" else "uq_signing_keys_kid"


def upgrade() -> None:
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_optional', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('x509_cas', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thumbprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    # Until now every kid was its key's RFC 7638 thumbprint.
    op.execute("UPDATE signing_keys SET thumbprint = kid")
    with op.batch_alter_table('signing_keys', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_kid_unique_name(), type_='unique')
        batch_op.alter_column('kid', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=1024), existing_nullable=False)
        batch_op.alter_column('thumbprint', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
                              nullable=False)
        batch_op.create_unique_constraint('uq_signing_keys_thumbprint', ['thumbprint'])
        batch_op.create_unique_constraint('uq_signing_keys_institution_kid', ['institution_id', 'kid'])


def downgrade() -> None:
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_constraint('uq_signing_keys_institution_kid', type_='unique')
        batch_op.drop_constraint('uq_signing_keys_thumbprint', type_='unique')
        batch_op.drop_column('thumbprint')
        batch_op.alter_column('kid', existing_type=sqlmodel.sql.sqltypes.AutoString(length=1024),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=64), existing_nullable=False)
        batch_op.create_unique_constraint('signing_keys_kid_key', ['kid'])
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_column('x509_cas')
        batch_op.drop_column('status_optional')
