"""The verdict (issue 22): the plan's catch-up days and ranking groups (分类考核), the
coordinator's per-unit row rules (exempt, include) and waived minimums.

Revision ID: dfe9ea3b353f
Revises: 5ca1ef33d0c5
Create Date: 2026-12-06 11:29:08.011392

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'dfe9ea3b353f'
down_revision = '5ca1ef33d0c5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('minimum_waivers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_minimum_waivers_created_by_id_users')),
    sa.ForeignKeyConstraint(['node_id'], ['rubric_nodes.id'], name=op.f('fk_minimum_waivers_node_id_rubric_nodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_minimum_waivers_plan_id_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_minimum_waivers_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minimum_waivers')),
    sa.UniqueConstraint('unit_id', 'plan_id', 'year', 'node_id', 'label', name=op.f('uq_minimum_waivers_unit_id_plan_id_year_node_id_label'))
    )
    op.create_table('unit_row_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.Enum('exempt', 'include', name='rowrulemode', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_unit_row_rules_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_row_rules_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_row_rules')),
    sa.UniqueConstraint('unit_id', 'year', 'code', name=op.f('uq_unit_row_rules_unit_id_year_code'))
    )
    with op.batch_alter_table('unit_row_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_row_rules_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catch_up_days', sa.Integer(), server_default='10', nullable=False))
        batch_op.add_column(sa.Column('ranking', sa.JSON(), nullable=True))

    with op.batch_alter_table('rubric_nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party_org', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party_org_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_units_party_org_id_units'), 'units', ['party_org_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_units_party_org_id_units'), type_='foreignkey')
        batch_op.drop_column('party_org_id')

    with op.batch_alter_table('rubric_nodes', schema=None) as batch_op:
        batch_op.drop_column('party_org')

    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('ranking')
        batch_op.drop_column('catch_up_days')

    with op.batch_alter_table('unit_row_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_row_rules_unit_id'))

    op.drop_table('unit_row_rules')
    op.drop_table('minimum_waivers')
