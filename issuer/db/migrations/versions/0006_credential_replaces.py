"""credential re-issuance: the credential a replacement (a lost or new phone) takes over from

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('credentials') as batch:
        batch.add_column(sa.Column('replaces', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.create_index(batch.f('ix_credentials_replaces'), ['replaces'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('credentials') as batch:
        batch.drop_index(batch.f('ix_credentials_replaces'))
        batch.drop_column('replaces')
