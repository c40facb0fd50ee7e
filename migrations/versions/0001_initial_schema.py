"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("maintenance", sa.Boolean(), nullable=False),
        sa.Column("maintenance_run_id", sa.Integer(), nullable=True),
        sa.Column("maintenance_since", sa.DateTime(), nullable=True),
        sa.Column("maintenance_heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("data_version", sa.String(length=64), nullable=False),
        sa.Column("dataset", sa.String(length=8), nullable=True),
        sa.Column("last_refresh_at", sa.DateTime(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.Column("lock_run_id", sa.Integer(), nullable=True),
        sa.Column("lock_heartbeat_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_state")),
    )
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
    )
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_areas_parent_id"), ["parent_id"], unique=False
        )

    op.create_table(
        "bans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lifted_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bans")),
    )
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bans_value"), ["value"], unique=False)

    op.create_table(
        "currency_rates",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_currency_rates")),
    )
    op.create_table(
        "employers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("accredited_it_employer", sa.Boolean(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employers")),
    )
    op.create_table(
        "enum_labels",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_enum_labels")),
    )
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("login", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal")),
    )
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_ip"), ["ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_login"), ["login"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_journal_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_login_failures_key"), ["key"], unique=False
        )

    op.create_table(
        "professional_roles",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("search_deprecated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_professional_roles")),
    )
    op.create_table(
        "refresh_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("started_by", sa.String(length=64), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_runs")),
    )
    with op.batch_alter_table("refresh_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refresh_runs_status"), ["status"], unique=False
        )

    op.create_table(
        "role_categories",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_categories")),
    )
    op.create_table(
        "role_category_links",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "role_id", "category_id", name=op.f("pk_role_category_links")
        ),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("login", name=op.f("uq_users_login")),
    )
    op.create_table(
        "vacancies",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.String(length=32), nullable=True),
        sa.Column("employer_name", sa.Text(), nullable=True),
        sa.Column("experience", sa.String(length=40), nullable=True),
        sa.Column("employment_form", sa.String(length=40), nullable=True),
        sa.Column("schedule", sa.String(length=40), nullable=True),
        sa.Column("employment", sa.String(length=40), nullable=True),
        sa.Column("requirement", sa.Text(), nullable=True),
        sa.Column("responsibility", sa.Text(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancies")),
        postgresql_with={"fillfactor": 85},
    )
    with op.batch_alter_table("vacancies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vacancies_area_id"), ["area_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vacancies_closed_at"), ["closed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vacancies_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vacancies_published_at"), ["published_at"], unique=False
        )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "salaries",
        sa.Column("vacancy_id", sa.BigInteger(), nullable=False),
        sa.Column("salary_from", sa.Float(), nullable=True),
        sa.Column("salary_to", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("gross", sa.Boolean(), nullable=True),
        sa.Column("mode", sa.String(length=40), nullable=False),
        sa.Column("frequency", sa.String(length=40), nullable=True),
        sa.Column("from_rub", sa.Float(), nullable=True),
        sa.Column("to_rub", sa.Float(), nullable=True),
        sa.Column("excluded", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_salaries_vacancy_id_vacancies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vacancy_id", name=op.f("pk_salaries")),
    )
    op.create_table(
        "vacancy_roles",
        sa.Column("vacancy_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_vacancy_roles_vacancy_id_vacancies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vacancy_id", "role_id", name=op.f("pk_vacancy_roles")),
    )
    with op.batch_alter_table("vacancy_roles", schema=None) as batch_op:
        batch_op.create_index("ix_vacancy_roles_role_id", ["role_id"], unique=False)

    op.create_table(
        "vacancy_work_formats",
        sa.Column("vacancy_id", sa.BigInteger(), nullable=False),
        sa.Column("work_format", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_vacancy_work_formats_vacancy_id_vacancies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "vacancy_id", "work_format", name=op.f("pk_vacancy_work_formats")
        ),
    )
    with op.batch_alter_table("vacancy_work_formats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vacancy_work_formats_work_format", ["work_format"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vacancy_work_formats", schema=None) as batch_op:
        batch_op.drop_index("ix_vacancy_work_formats_work_format")

    op.drop_table("vacancy_work_formats")
    with op.batch_alter_table("vacancy_roles", schema=None) as batch_op:
        batch_op.drop_index("ix_vacancy_roles_role_id")

    op.drop_table("vacancy_roles")
    op.drop_table("salaries")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("vacancies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vacancies_published_at"))
        batch_op.drop_index(batch_op.f("ix_vacancies_employer_id"))
        batch_op.drop_index(batch_op.f("ix_vacancies_closed_at"))
        batch_op.drop_index(batch_op.f("ix_vacancies_area_id"))

    op.drop_table("vacancies")
    op.drop_table("users")
    op.drop_table("role_category_links")
    op.drop_table("role_categories")
    with op.batch_alter_table("refresh_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_runs_status"))

    op.drop_table("refresh_runs")
    op.drop_table("professional_roles")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_key"))
        batch_op.drop_index(batch_op.f("ix_login_failures_at"))

    op.drop_table("login_failures")
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_user_id"))
        batch_op.drop_index(batch_op.f("ix_journal_login"))
        batch_op.drop_index(batch_op.f("ix_journal_ip"))
        batch_op.drop_index(batch_op.f("ix_journal_at"))
        batch_op.drop_index(batch_op.f("ix_journal_action"))

    op.drop_table("journal")
    op.drop_table("enum_labels")
    op.drop_table("employers")
    op.drop_table("currency_rates")
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bans_value"))

    op.drop_table("bans")
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_areas_parent_id"))

    op.drop_table("areas")
    op.drop_table("app_state")
