"""`flask --app app create-admin LOGIN`: make or promote an admin account."""

from __future__ import annotations

import logging

import click
from flask.cli import with_appcontext

from auth.users import AccountError
from auth.users import get_user_by_login
from auth.users import save_new_user
from auth.users import save_password
from auth.users import validate_login
from services.db import session_scope
from services.runtime import current_engine
from services.runtime import current_settings

logger = logging.getLogger(__name__)


@click.command("create-admin")
@click.argument("login")
@with_appcontext
def create_admin_command(login: str) -> None:
    """Create LOGIN as an admin, or make an existing account one.

    The password comes from ADMIN_PASSWORD, or is asked for twice.
    """
    try:
        login = validate_login(login)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    password = current_settings().admin_password or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )

    try:
        with session_scope(current_engine()) as session:
            user = get_user_by_login(session, login)
            if user is None:
                save_new_user(session, login, password, role="admin")
                outcome = "created"
            else:
                save_password(session, user, password)
                user.role = "admin"
                outcome = "promoted to admin, password replaced"
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Admin {login!r}: {outcome}.")
