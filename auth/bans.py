"""Bans of logins and of IP addresses or CIDR ranges.

A ban lives in the database, so every worker sees it on its next request.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.clientip import ip_in_network
from auth.users import ROLE_RANK
from auth.users import AccountError
from auth.users import AccountUser
from auth.users import end_sessions
from auth.users import get_user_by_login
from auth.users import normalise_login
from services.schema import Ban
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

BAN_KINDS = ("login", "ip")
# The widest range one ban may cover, by IP version: a /16 is a large
# provider's block, a /32 an IPv6 provider's whole allocation.
WIDEST_PREFIX = {4: 16, 6: 32}
MAX_BAN_ID = 2**31 - 1


def _active(statement, now: datetime):
    return statement.where(
        Ban.lifted_at.is_(None),
        or_(Ban.expires_at.is_(None), Ban.expires_at > now),
    )


def get_active_bans(session: Session, now: datetime | None = None) -> list[Ban]:
    now = now or utc_now()
    statement = _active(select(Ban), now).order_by(Ban.created_at.desc())
    return list(session.execute(statement).scalars())


def get_login_ban(session: Session, login: str, now: datetime | None = None):
    """The active ban of `login`, or None."""
    statement = _active(
        select(Ban).where(Ban.kind == "login", Ban.value == normalise_login(login)),
        now or utc_now(),
    )
    return session.execute(statement.limit(1)).scalar_one_or_none()


def get_ip_ban(session: Session, ip: str, now: datetime | None = None):
    """The active ban whose address or range holds `ip`, or None."""
    if not ip:
        return None
    statement = _active(select(Ban).where(Ban.kind == "ip"), now or utc_now())
    for ban in session.execute(statement).scalars():
        if ip_in_network(ip, ban.value):
            return ban
    return None


def normalise_ban_value(kind: str, value: str) -> str:
    """The canonical form of a login or a network; raises AccountError if bad."""
    value = (value or "").strip()
    if kind == "login":
        return normalise_login(value)
    if kind == "ip":
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise AccountError(
                "ban_ip_invalid", f"{value!r} is not an IP address or a CIDR range"
            ) from None
        if network.num_addresses == 1:
            return str(network.network_address)
        return str(network)
    raise AccountError("ban_kind_invalid", f"unknown ban kind {kind!r}")


def save_ban(
    session: Session,
    actor: AccountUser,
    actor_ip: str,
    kind: str,
    value: str,
    reason: str,
    expires_at: datetime | None,
) -> Ban:
    """Ban a login or an IP range; raises AccountError when not allowed.

    Nobody bans themselves or their own IP; a login may be banned only by
    someone of a higher role, so a moderator cannot ban a moderator or an
    admin, and no one bans an admin.
    """
    value = normalise_ban_value(kind, value)
    if not value:
        raise AccountError("ban_value_missing", "say which login or IP to ban")
    if kind == "login":
        _check_login_ban_allowed(session, actor, value)
    elif ip_in_network(actor_ip, value):
        raise AccountError("ban_self", "this range holds your own IP address")

    ban = Ban(
        kind=kind,
        value=value,
        reason=(reason or "").strip()[:500] or None,
        created_by=actor.id,
        created_at=utc_now(),
        expires_at=expires_at,
    )
    session.add(ban)
    session.flush()
    logger.info("ban %s: kind=%s by user %s", ban.id, kind, actor.id)
    return ban


def check_range_width(value: str) -> None:
    """Refuse a range wider than WIDEST_PREFIX; raises AccountError.

    A range like 128.0.0.0/1 or ::/0 would lock out half the internet or
    everyone; a mistake of that size is refused, not carried out.
    """
    network = ipaddress.ip_network(normalise_ban_value("ip", value))
    widest = WIDEST_PREFIX[network.version]
    if network.prefixlen < widest:
        raise AccountError(
            "ban_range_too_wide",
            f"{value} is wider than /{widest}, the widest IPv{network.version} ban",
        )


def _check_login_ban_allowed(session: Session, actor: AccountUser, login: str):
    if login == actor.login:
        raise AccountError("ban_self", "you cannot ban yourself")
    target = get_user_by_login(session, login)
    if target is None:
        return
    if target.role == "admin" or ROLE_RANK[target.role] >= ROLE_RANK[actor.role]:
        raise AccountError(
            "ban_role", f"{login!r} is a {target.role} and cannot be banned by you"
        )
    end_sessions(target)


def save_unban(session: Session, actor: AccountUser, ban_id: int) -> Ban:
    """Lift a ban; raises AccountError when it does not exist or is not active."""
    # An id beyond the column's range is no ban; the database would refuse it.
    ban = session.get(Ban, ban_id) if ban_id <= MAX_BAN_ID else None
    if ban is None or ban.lifted_at is not None:
        raise AccountError("ban_missing", f"there is no active ban #{ban_id}")
    ban.lifted_at = utc_now()
    ban.lifted_by = actor.id
    logger.info("ban %s lifted by user %s", ban.id, actor.id)
    return ban
