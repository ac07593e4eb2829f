"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 14:22:51.631305
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('org_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('is_dev_zone', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('deployed_by', sa.Integer(), nullable=True),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['deployed_by'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_id', 'version')
    )
    with op.batch_alter_table('definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_process_id'), ['process_id'], unique=False)

    op.create_table('project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('investor', sa.String(length=200), nullable=False),
    sa.Column('source_channel', sa.String(length=20), nullable=False),
    sa.Column('attracting_unit_id', sa.Integer(), nullable=False),
    sa.Column('landing_unit_id', sa.Integer(), nullable=False),
    sa.Column('landing_platform_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('is_manufacturing', sa.Boolean(), nullable=False),
    sa.Column('total_investment', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('fixed_asset_investment', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('foreign_capital', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('out_of_province_capital', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('funds_in_place', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('needs_land', sa.Boolean(), nullable=False),
    sa.Column('land_mu', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('one_case_support', sa.Boolean(), nullable=False),
    sa.Column('one_case_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('fund_request', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('contact_name', sa.String(length=80), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('is_major', sa.Boolean(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('close_reason', sa.String(length=500), nullable=False),
    sa.Column('registered_by', sa.Integer(), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('intent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_date', sa.Date(), nullable=True),
    sa.Column('landed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('contract_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tier', sa.String(length=4), nullable=False),
    sa.Column('last_progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attracting_unit_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['deputy_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['landing_platform_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['landing_unit_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['registered_by'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_deputy_id'), ['deputy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_landing_unit_id'), ['landing_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_status'), ['status'], unique=False)

    op.create_table('user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'role')
    )
    op.create_table('instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('next_timer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['definition.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id')
    )
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instance_next_timer_at'), ['next_timer_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_instance_status'), ['status'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('bpmn_id', sa.String(length=80), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_project_id'), ['project_id'], unique=False)

    op.create_table('task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
    sa.Column('bpmn_id', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('lane', sa.String(length=80), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('form', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('completed_by', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['completed_by'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('spiff_task_id')
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_completed_by', ['completed_by', 'completed_at'], unique=False)
        batch_op.create_index('ix_task_inbox_assignee', ['status', 'assignee_id', 'due_at'], unique=False)
        batch_op.create_index('ix_task_inbox_role', ['status', 'role', 'scope', 'unit_id', 'due_at'], unique=False)
        batch_op.create_index('ix_task_instance_status', ['instance_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_project_id'))
        batch_op.drop_index('ix_task_instance_status')
        batch_op.drop_index('ix_task_inbox_role')
        batch_op.drop_index('ix_task_inbox_assignee')
        batch_op.drop_index('ix_task_completed_by')

    op.drop_table('task')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_project_id'))
        batch_op.drop_index(batch_op.f('ix_event_at'))

    op.drop_table('event')
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_status'))
        batch_op.drop_index(batch_op.f('ix_instance_next_timer_at'))
        batch_op.drop_index(batch_op.f('ix_instance_definition_id'))

    op.drop_table('instance')
    op.drop_table('user_role')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_status'))
        batch_op.drop_index(batch_op.f('ix_project_stage'))
        batch_op.drop_index(batch_op.f('ix_project_name'))
        batch_op.drop_index(batch_op.f('ix_project_landing_unit_id'))
        batch_op.drop_index(batch_op.f('ix_project_deputy_id'))

    op.drop_table('project')
    with op.batch_alter_table('definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_process_id'))

    op.drop_table('definition')
    op.drop_table('app_user')
    op.drop_table('org_unit')
