"""institution contact details: where a holder turns when a credential is revoked or a phone is lost

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('institutions') as batch:
        batch.add_column(sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch.add_column(sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(sa.Column('contact_web', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('institutions') as batch:
        batch.drop_column('contact_web')
        batch.drop_column('contact_email')
        batch.drop_column('contact_phone')
