"""The year-end cycle: the coordinator's inputs (年中评估, 群众评议, 抽查, 督导), 督导
visits and findings, 抽查 draws, the anonymous questionnaire, 问题反馈单, and the plan's
[assessment] table.

Revision ID: 88ffffa52948
Revises: f1a6b3c8d2e4
Create Date: 2026-12-06 11:28:51.433324

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '88ffffa52948'
down_revision = 'f1a6b3c8d2e4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_surveys_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('token', name=op.f('uq_surveys_token')),
    sa.UniqueConstraint('unit_id', 'year', name=op.f('uq_surveys_unit_id_year'))
    )
    op.create_table('assessment_inputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('midyear', 'public', 'spot', 'supervision', name='inputkind', native_enum=False, length=20), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('grade', sa.String(length=50), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_data', sa.LargeBinary(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_assessment_inputs_created_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assessment_inputs_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_inputs')),
    sa.UniqueConstraint('unit_id', 'year', 'kind', name=op.f('uq_assessment_inputs_unit_id_year_kind'))
    )
    op.create_table('feedback_sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_feedback_sheets_acknowledged_by_id_users')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_feedback_sheets_issued_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_feedback_sheets_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_sheets')),
    sa.UniqueConstraint('unit_id', 'year', name=op.f('uq_feedback_sheets_unit_id_year'))
    )
    op.create_table('spot_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('pool', sa.JSON(), nullable=False),
    sa.Column('drawn', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_spot_draws_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_draws'))
    )
    with op.batch_alter_table('spot_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_draws_year'), ['year'], unique=False)

    op.create_table('supervision_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('visitors', sa.String(length=300), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_supervision_visits_created_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_supervision_visits_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_visits'))
    )
    with op.batch_alter_table('supervision_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_visits_unit_id'), ['unit_id'], unique=False)

    op.create_table('survey_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('choice', sa.String(length=20), nullable=False),
    sa.Column('device_hash', sa.String(length=64), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_answers_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('survey_id', 'device_hash', name=op.f('uq_survey_answers_survey_id_device_hash'))
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index('ix_survey_answers_address_hash_at', ['address_hash', 'at'], unique=False)

    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('supervision', 'spot', name='findingkind', native_enum=False, length=20), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_findings_task_id_tasks')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_findings_unit_id_units')),
    sa.ForeignKeyConstraint(['visit_id'], ['supervision_visits.id'], name=op.f('fk_findings_visit_id_supervision_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings'))
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_unit_id_year', ['unit_id', 'year'], unique=False)

    # The inbox takes notices without a task (a 反馈单 issued).
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('task_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('title', sa.String(length=300), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('link', sa.String(length=300), nullable=False,
                                      server_default=''))

    with op.batch_alter_table('plans', schema=None) as batch_op:
        # Plans loaded before say nothing of the inputs: an empty table.
        batch_op.add_column(sa.Column('assessment', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))



def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('link')
        batch_op.drop_column('title')
    op.execute("DELETE FROM notifications WHERE task_id IS NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('task_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('assessment')

    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_unit_id_year')

    op.drop_table('findings')
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answers_address_hash_at')

    op.drop_table('survey_answers')
    with op.batch_alter_table('supervision_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_visits_unit_id'))

    op.drop_table('supervision_visits')
    with op.batch_alter_table('spot_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_draws_year'))

    op.drop_table('spot_draws')
    op.drop_table('feedback_sheets')
    op.drop_table('assessment_inputs')
    op.drop_table('surveys')
