"""Who uses the app: sign-in through Streamlit's ``st.login`` (OIDC), or single-user local mode.

- **Local mode** (the default for ``make run``): no ``[auth]`` section in ``.streamlit/secrets.toml`` and the
  app listens on a loopback address only. The one local user is :data:`engine.auth.LOCAL_ADMIN`.
- **Sign-in**: an ``[auth]`` section is configured (any OIDC provider: Google, Microsoft, Okta,
  Keycloak…). Every session signs in first; its role comes from ``[workbench.roles]`` in the same file
  (role name → list of e-mails or ``group:<name>`` entries); an unknown signed-in user is a viewer.
- **Refused**: the app listens on a non-loopback address (``server.address`` other than 127.0.0.1,
  localhost, ::1, or unset = every interface) and no ``[auth]`` is configured: only an error page is shown.

Pages ask :func:`principal` who is acting and :func:`can` whether to offer an action; every action a page
performs calls :func:`allow` first (role, ownership, rate limit; the refusal names what is missing).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from engine import access, auth
from engine.auth import LOCAL_ADMIN, Permission, Principal, Role
from engine.errors import WorkbenchError

log = logging.getLogger("workbench.app.auth")

ROLES_SECTION = ("workbench", "roles")
DEFAULT_ROLE = Role.VIEWER
_RANK = {Role.VIEWER: 0, Role.ANALYST: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def is_loopback(address: str | None) -> bool:
    """Whether a ``server.address`` value keeps the app on this machine (unset = every interface: no)."""
    host = (address or "").strip().strip("[]")
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def listening_address() -> str:
    """The address the Streamlit server listens on (``server.address``; empty = every interface)."""
    return str(st.get_option("server.address") or "")


def _secrets() -> Mapping[str, Any]:
    try:
        return {k: st.secrets[k] for k in st.secrets}
    except StreamlitSecretNotFoundError:
        return {}


def auth_configured(secrets: Mapping[str, Any] | None = None) -> bool:
    """Whether sign-in is configured: an ``[auth]`` section in the secrets."""
    secrets = _secrets() if secrets is None else secrets
    return isinstance(secrets.get("auth"), Mapping) and bool(secrets.get("auth"))


def role_mapping(secrets: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """``[workbench.roles]``: role name → e-mails and ``group:<name>`` entries (lower-cased).

    A ValueError names an unknown role, so a typo is reported instead of silently granting nothing."""
    secrets = _secrets() if secrets is None else secrets
    section: Any = secrets
    for part in ROLES_SECTION:
        section = section.get(part) if isinstance(section, Mapping) else None
    if not isinstance(section, Mapping):
        return {}
    mapping: dict[str, list[str]] = {}
    for role_name, members in section.items():
        role = Role.parse(role_name)
        if isinstance(members, str):
            members = [members]
        mapping[role.value] = [str(m).strip().lower() for m in members or []]
    return mapping


GROUPS_SECTION = ("workbench", "groups")


def group_mapping(secrets: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """``[workbench.groups]``: group name → e-mails of its members (lower-cased), set by the admin for
    workflow shares (engine/sharing.py) and ``group:<name>`` role entries, next to the OIDC ``groups`` claim."""
    secrets = _secrets() if secrets is None else secrets
    section: Any = secrets
    for part in GROUPS_SECTION:
        section = section.get(part) if isinstance(section, Mapping) else None
    if not isinstance(section, Mapping):
        return {}
    return {
        str(name): [str(m).strip().lower() for m in ([members] if isinstance(members, str) else members or [])]
        for name, members in section.items()
    }


def groups_for(email: str | None, claim: list[str], mapping: Mapping[str, list[str]]) -> tuple[str, ...]:
    """The groups of a signed-in user: the provider's ``groups`` claim plus the ``[workbench.groups]`` naming
    the e-mail."""
    mine = {str(g) for g in claim}
    if email:
        mine |= {name for name, members in mapping.items() if email.strip().lower() in members}
    return tuple(sorted(mine))


def role_for(email: str | None, groups: list[str] | None, mapping: Mapping[str, list[str]]) -> Role:
    """The highest role whose list names the e-mail or one of the groups; :data:`DEFAULT_ROLE` otherwise."""
    keys = {f"group:{g}".lower() for g in groups or []}
    if email:
        keys.add(email.strip().lower())
    best = DEFAULT_ROLE
    for role_name, members in mapping.items():
        role = Role.parse(role_name)
        if keys.intersection(members) and _RANK[role] > _RANK[best]:
            best = role
    return best


def _signed_in_principal() -> Principal:
    info: dict[str, Any] = dict(st.user.to_dict())
    email = str(info["email"]) if isinstance(info.get("email"), str) else None
    claim = info.get("groups") or []  # a list of names, or one name, when the provider sends groups
    groups = [claim] if isinstance(claim, str) else [str(g) for g in claim] if isinstance(claim, list) else []
    user = str(email or info.get("preferred_username") or info.get("name") or info.get("sub") or "unknown")
    all_groups = groups_for(email, groups, group_mapping())
    return Principal(user=user, role=role_for(email, list(all_groups), role_mapping()), groups=all_groups)


def principal() -> Principal:
    """Who acts in this session: the signed-in user with their role, or the local user (admin)."""
    if not auth_configured():
        return LOCAL_ADMIN
    if not st.user.is_logged_in:  # the gate stops such sessions first; never grant anything here
        return Principal(user="signed-out", role=Role.VIEWER)
    return _signed_in_principal()


def can(permission: Permission | str, owner: str | None = None) -> bool:
    """Whether this session's user may do ``permission`` (see :func:`engine.auth.can`)."""
    return principal().can(permission, owner=owner)


_LIMITER: auth.RateLimiter | None = None
_LIMITER_LOCK = threading.Lock()


def app_limiter() -> auth.RateLimiter:
    """The app's rate limiter, shared by every session of this process (limits as the service's:
    ``WORKBENCH_RATE_EXECUTIONS|CREATIONS|AI``, read once)."""
    global _LIMITER
    with _LIMITER_LOCK:
        if _LIMITER is None:
            _LIMITER = auth.RateLimiter(auth.limits_from_env())
        return _LIMITER


def allow(
    permission: Permission | str,
    *,
    workflow_id: str | None = None,
    execution_id: str | None = None,
    rate_kind: str | None = None,
    action: str | None = None,
    now: bool = False,
) -> bool:
    """Check a page action before doing it (see :func:`engine.access.check_action`): role, ownership of the
    workflow or run (analysts act on their own only), rate limit ``rate_kind``. On refusal shows why,
    naming the missing permission or the limit (``now``: at once, else as a flash on the next rerun),
    and returns False. With ``action``, an allowed action is recorded in ``audit_logs`` with who did it."""
    from app.components import ui

    message = access.check_action(
        ui.store(),
        principal(),
        permission,
        workflow_id=workflow_id,
        execution_id=execution_id,
        limiter=app_limiter(),
        rate_kind=rate_kind,
        action=action,
    )
    if message is None:
        return True
    text = f"Not done: {message}."
    if now:
        st.error(text, icon=":material/block:")
    else:
        ui.flash(text, "error")
    return False


def owner_for_save(workflow_id: str | None = None) -> str | None:
    """The owner to record when this session saves ``workflow_id`` (None: a new workflow): its current
    owner, so an operator's edit does not take it over, else the signed-in user. None in local mode
    (the library's default owner)."""
    from app.components import ui

    who = principal()
    if who == LOCAL_ADMIN:
        return None
    return (auth.workflow_owner(ui.store(), workflow_id) if workflow_id else None) or who.user


def record_started(execution_id: str | None, workflow_id: str | None = None, how: str = "app") -> None:
    """Remember that this session's user started ``execution_id`` (its owner for the role checks)."""
    from app.components import ui

    who = principal()
    if execution_id and who != LOCAL_ADMIN:
        auth.record_run_start(ui.store(), execution_id, who.user, workflow_id=workflow_id, how=how)


def refusal_message(address: str) -> str:
    """Why the app does not serve anything when it listens beyond this machine without sign-in."""
    where = address or "every interface (server.address is not set)"
    return (
        f"The workbench listens on {where}, so other machines can reach it, but sign-in is not "
        "configured. Add an [auth] section to .streamlit/secrets.toml (see .streamlit/secrets.example.toml "
        "and docs/sign-in.md), or listen on 127.0.0.1 only (server.address in "
        ".streamlit/config.toml)."
    )


def _audit_sign_in(who: Principal) -> None:
    """One ``security.app_sign_in`` audit row per browser session and user (who, with which role)."""
    if st.session_state.get("_auth.audited") == (who.user, who.role.value):
        return
    from app.components import ui
    from engine import auth

    try:
        auth.audit(
            ui.store(),
            "security.app_sign_in",
            f"{who.user} signed in to the app as {who.role.value}",
            actor=who.user,
            metadata={"role": who.role.value},
        )
    except WorkbenchError as exc:  # the records cannot be opened: the pages will say so; sign-in goes on
        log.error("could not record the sign-in of %s: %s", who.user, exc)
        return
    st.session_state["_auth.audited"] = (who.user, who.role.value)


def gate() -> Principal:
    """Run before the pages: stop the script unless this session may use the app; draw who is signed in.

    Returns the session's principal when the pages may be shown."""
    address = listening_address()
    if not auth_configured():
        if not is_loopback(address):
            log.error(refusal_message(address))
            st.error(refusal_message(address), icon=":material/lock:")
            st.stop()
        with st.sidebar:
            st.caption(
                "Local mode: one user, no sign-in",
                help=f"The app listens on {address} only, so only "
                "this machine can reach it. To share it, configure sign-in (docs/sign-in.md).",
            )
        return LOCAL_ADMIN
    if not st.user.is_logged_in:
        st.title("AI workflow workbench")
        st.info("Sign in to use the workbench.", icon=":material/lock:")
        st.button("Log in", type="primary", on_click=st.login, key="btn.auth.login")
        st.stop()
    try:
        who = _signed_in_principal()
    except ValueError as exc:  # an unknown role name in [workbench.roles]
        st.error(f"The role settings are wrong: {exc}", icon=":material/warning:")
        st.stop()
    _audit_sign_in(who)
    with st.sidebar:
        st.caption(
            f"Signed in as **{who.user}** · {who.role.value}",
            help="Roles come from [workbench.roles] in .streamlit/secrets.toml; unknown users are viewers.",
        )
        st.button("Log out", on_click=st.logout, key="btn.auth.logout", icon=":material/logout:")
    return who


def preflight(argv: list[str] | None = None) -> int:
    """``python -m app.components.auth_gate [--server.address A]``: before ``streamlit run`` (``make run``),
    exit 2 with the refusal message when the app would listen beyond loopback without sign-in.

    Reads the settings the way Streamlit does: ``.streamlit/config.toml`` here and in ``~``,
    ``STREAMLIT_SERVER_ADDRESS``, and the ``[auth]`` section of the ``secrets.files`` (``.streamlit/secrets.toml``)."""
    import argparse
    import sys
    import tomllib
    from pathlib import Path

    from streamlit import config as st_config

    parser = argparse.ArgumentParser(prog="python -m app.components.auth_gate", description=preflight.__doc__)
    parser.add_argument(
        "--server.address",
        dest="address",
        default=None,
        help="the address streamlit will be given on its command line, if any",
    )
    args = parser.parse_args(argv)
    st_config.get_config_options()
    address = args.address if args.address is not None else str(st_config.get_option("server.address") or "")
    secrets: dict[str, Any] = {}
    for path in st_config.get_option("secrets.files"):
        if str(path).endswith(".toml") and Path(path).is_file():
            with open(path, "rb") as fh:
                secrets.update(tomllib.load(fh))
    if auth_configured(secrets):
        role_mapping(secrets)  # a wrong role name is reported now, not at the first sign-in
        print(f"Sign-in required (OIDC, [auth] in the secrets); the app listens on {address or 'every interface'}.")
        return 0
    if not is_loopback(address):
        print("Refusing to start: " + refusal_message(address), file=sys.stderr)
        return 2
    print(f"Local mode: one user, no sign-in; the app listens on {address} only.")
    return 0


if __name__ == "__main__":
    raise SystemExit(preflight())
