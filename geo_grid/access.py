"""Who may do what, where: roles, scopes, personal-data masking and password hashing.

Pure rules, no database and no HTTP: the API's policy table (``api/policy.py``) says which roles
reach an endpoint; this module says, once a caller is in, which cases lie in their area and which
fields of a reporter they may read. Keeping both here means the CLI, the API and the map pages apply
the same rule.

Scopes follow the administrative tree encoded in the division codes: a district ``320113``, its
street ``320113003`` (9 digits), its community ``320113003001`` (12 digits) and the grids in it
(15-digit unified codes start with the community's 12). A grid worker's scope is the set of grids
they are on the roster for (网格员 sees the cases of their own grids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from geo_grid.errors import BadInput
from geo_grid.labels import ROLE

__all__ = [
    "PERSONAL_READERS",
    "ROLES",
    "SCOPE_LEVELS",
    "Principal",
    "case_in_scope",
    "check_role",
    "community_in_scope",
    "hash_password",
    "mask_name",
    "mask_phone",
    "mask_reporter",
    "parse_scope",
    "scope_filter",
    "sees_personal_data",
    "verify_password",
]

Role = Literal[
    "admin", "planner", "dispatcher", "grid_worker", "leader", "viewer", "open311_client"
]
ROLES: tuple[str, ...] = (
    "admin",
    "planner",
    "dispatcher",
    "grid_worker",
    "leader",
    "viewer",
    "open311_client",
)
#: Each role's Chinese name (the words live in :mod:`geo_grid.labels`).
ROLE_ZH: dict[str, str] = {role: ROLE[role] for role in ROLES}
SCOPE_LEVELS: tuple[str, ...] = ("district", "street", "community")
_CODE_LENGTH = {"district": 6, "street": 9, "community": 12}

#: Roles that need a reporter's name and phone to do their job (call back, go to the door). Every
#: read of those fields by them is recorded; everyone else gets them masked.
PERSONAL_READERS: frozenset[str] = frozenset({"admin", "dispatcher", "grid_worker"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person's account or a system's API key.

    ``grids`` is only used for grid workers: the unified grid codes of their roster entries.
    """

    name: str
    role: str
    scope_level: str = "district"
    scope_code: str = ""
    grids: tuple[str, ...] = field(default=())
    kind: Literal["user", "api_key"] = "user"

    @property
    def label(self) -> str:
        """How the audit log names the caller (``user:li.ming`` / ``key:fixmystreet``)."""
        return f"{'key' if self.kind == 'api_key' else 'user'}:{self.name}"


def parse_scope(text: str, *, field_name: str = "scope") -> tuple[str, str]:
    """Read ``street:320113003``-style scopes; the code's length must match the level.

    >>> parse_scope("street:320113003")
    ('street', '320113003')
    >>> parse_scope("town:1")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: scope: level must be one of district, street, community, got 'town'
    """
    level, sep, code = text.partition(":")
    if not sep:
        raise BadInput(f"{field_name}: write level:code, e.g. street:320113003", field=field_name)
    if level not in SCOPE_LEVELS:
        raise BadInput(
            f"{field_name}: level must be one of {', '.join(SCOPE_LEVELS)}, got {level!r}",
            field=field_name,
        )
    if not (code.isdigit() and len(code) == _CODE_LENGTH[level]):
        raise BadInput(
            f"{field_name}: a {level} code has {_CODE_LENGTH[level]} digits, got {code!r}",
            field=field_name,
        )
    return level, code


def scope_filter(principal: Principal) -> dict[str, Any]:
    """The case-list filter that confines a caller to their area (empty: the whole district).

    Its keys are distinct from the caller's own filters (``street_code`` ...), so a leader of one
    street asking for another street's cases gets none rather than the other street's.

    >>> scope_filter(Principal("a", "leader", "street", "320113003"))
    {'scope_street_code': '320113003'}
    >>> scope_filter(Principal("w", "grid_worker", "community", "320113003001", ("g1",)))
    {'scope_grid_codes': ['g1']}
    """
    if principal.role == "grid_worker":
        return {"scope_grid_codes": list(principal.grids)}
    if principal.scope_level == "street":
        return {"scope_street_code": principal.scope_code}
    if principal.scope_level == "community":
        return {"scope_community_code": principal.scope_code}
    return {}


def case_in_scope(principal: Principal, case: Mapping[str, Any]) -> bool:
    """Whether ``case`` (its grid, community and street codes) lies in the caller's area.

    >>> w = Principal("w", "grid_worker", "community", "320113003001", ("320113003001001",))
    >>> case_in_scope(w, {"grid_code": "320113003001001"}), case_in_scope(w, {"grid_code": "x"})
    (True, False)
    >>> case_in_scope(Principal("s", "leader", "street", "320113003"), {"street_code": "320113004"})
    False
    """
    wanted = scope_filter(principal)
    if "scope_grid_codes" in wanted:
        return case.get("grid_code") in wanted["scope_grid_codes"]
    return all(case.get(k.removeprefix("scope_")) == v for k, v in wanted.items())


def community_in_scope(principal: Principal, community_code: str | None) -> bool:
    """Whether a community (and the grids in it) lies in the caller's area: what a planner of one
    street may redraw.

    >>> p = Principal("p", "planner", "street", "320113003")
    >>> community_in_scope(p, "320113003004"), community_in_scope(p, "320113004001")
    (True, False)
    """
    if principal.scope_level == "district" or not principal.scope_code:
        return True
    return bool(community_code) and str(community_code).startswith(principal.scope_code)


def sees_personal_data(principal: Principal, case: Mapping[str, Any] | None = None) -> bool:
    """Whether the caller may read a reporter's name and phone (of ``case``, if given)."""
    if principal.role not in PERSONAL_READERS:
        return False
    return case is None or case_in_scope(principal, case)


def mask_phone(phone: str | None) -> str | None:
    """Show only the first 3 and last 4 digits (138****1234).

    >>> mask_phone("13812341234"), mask_phone("12345"), mask_phone(None)
    ('138****1234', '****', None)
    """
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_name(name: str | None) -> str | None:
    """Keep the family name, star the rest (张** / J***).

    >>> mask_name("张三丰"), mask_name("王五"), mask_name(None)
    ('张**', '王*', None)
    """
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_reporter(row: dict[str, Any]) -> dict[str, Any]:
    """A copy of a case row with the reporter's name and phone masked."""
    return {
        **row,
        "reporter_name": mask_name(row.get("reporter_name")),
        "reporter_phone": mask_phone(row.get("reporter_phone")),
    }


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Argon2id hash (salted, memory-hard): what the store keeps instead of the password."""
    if len(password) < 8:
        raise BadInput("password: at least 8 characters", field="password")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Constant-time check of ``password`` against an Argon2 hash; False on any mismatch."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_role(role: str, *, field_name: str = "role") -> str:
    """Validate a role name, naming the allowed ones."""
    if role not in ROLES:
        raise BadInput(f"{field_name}: one of {', '.join(ROLES)}, got {role!r}", field=field_name)
    return role
