"""Who may do what, where: roles, scopes, personal-data masking and password hashing.

Pure rules, no database and no HTTP: the API's policy table (``api/policy.py``) says which roles
reach an endpoint; this module says, once a caller is in, which cases lie in their area and which
fields of a reporter they may read. Keeping both here means the CLI, the API and the map pages apply
the same rule.

Logins are throttled, never locked (:func:`login_wait`): wrong passwords are counted per username
and client address, so a stranger's guesses slow the stranger and not the owner at their own desk.

Scopes follow the administrative tree encoded in the division codes: a province (2 digits), a city
(4: every district of it the store serves), a district (6), a street (9), a community (12) and the
grids in it (15-digit unified codes start with the community's 12); ``all`` is the whole store (a
system administrator). A grid worker's scope is the set of grids they are on the roster for (网格员
sees the cases of their own grids).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from geo_grid.errors import BadInput
from geo_grid.labels import ROLE

__all__ = [
    "PERSONAL_NUMBERS",
    "PERSONAL_READERS",
    "ROLES",
    "SCOPE_LEVELS",
    "LoginPolicy",
    "LoginState",
    "Principal",
    "case_in_scope",
    "check_role",
    "community_in_scope",
    "district_in_scope",
    "has_personal_numbers",
    "failure_delay",
    "hash_password",
    "login_wait",
    "mask_name",
    "mask_phone",
    "mask_reporter",
    "mask_text",
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
SCOPE_LEVELS: tuple[str, ...] = ("all", "province", "city", "district", "street", "community")
_CODE_LENGTH = {"all": 0, "province": 2, "city": 4, "district": 6, "street": 9, "community": 12}
#: Levels whose scope is made of whole districts (their cases are filtered by district code).
_DISTRICT_LEVELS = ("province", "city", "district")

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
    scope_level: str = "all"
    scope_code: str = ""
    grids: tuple[str, ...] = field(default=())
    kind: Literal["user", "api_key"] = "user"

    @property
    def label(self) -> str:
        """How the audit log names the caller (``user:li.ming`` / ``key:fixmystreet``)."""
        return f"{'key' if self.kind == 'api_key' else 'user'}:{self.name}"


def parse_scope(text: str, *, field_name: str = "scope") -> tuple[str, str]:
    """Read ``street:123456003``-style scopes (``all``: the whole store); the code's length must
    match the level.

    >>> parse_scope("street:123456003"), parse_scope("city:1234"), parse_scope("all")
    (('street', '123456003'), ('city', '1234'), ('all', ''))
    >>> parse_scope("town:1")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: scope: level must be one of all, province, city, district, street, community, got 'town'
    """
    level, sep, code = text.partition(":")
    if level == "all" and not code:
        return "all", ""
    if not sep:
        raise BadInput(f"{field_name}: write level:code, e.g. street:123456003", field=field_name)
    if level not in SCOPE_LEVELS or level == "all":
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
    """The case-list filter that confines a caller to their area (empty: the whole store).

    Its keys are distinct from the caller's own filters (``street_code`` ...), so a leader of one
    street asking for another street's cases gets none rather than the other street's. A
    province, city or district account sees the cases of the districts under its code.

    >>> scope_filter(Principal("a", "leader", "street", "123456003"))
    {'scope_street_code': '123456003'}
    >>> scope_filter(Principal("c", "leader", "city", "1234"))
    {'scope_district_prefix': '1234'}
    >>> scope_filter(Principal("w", "grid_worker", "community", "123456003001", ("g1",)))
    {'scope_grid_codes': ['g1']}
    """
    if principal.role == "grid_worker":
        return {"scope_grid_codes": list(principal.grids)}
    if principal.scope_level == "street":
        return {"scope_street_code": principal.scope_code}
    if principal.scope_level == "community":
        return {"scope_community_code": principal.scope_code}
    if principal.scope_level in _DISTRICT_LEVELS:
        return {"scope_district_prefix": principal.scope_code}
    return {}


def case_in_scope(principal: Principal, case: Mapping[str, Any]) -> bool:
    """Whether ``case`` (its grid, community, street and district codes) lies in the caller's area.

    >>> w = Principal("w", "grid_worker", "community", "123456003001", ("123456003001001",))
    >>> case_in_scope(w, {"grid_code": "123456003001001"}), case_in_scope(w, {"grid_code": "x"})
    (True, False)
    >>> case_in_scope(Principal("s", "leader", "street", "123456003"), {"street_code": "123456004"})
    False
    >>> case_in_scope(Principal("c", "leader", "city", "1234"), {"district_code": "123401"})
    True
    """
    wanted = scope_filter(principal)
    if "scope_grid_codes" in wanted:
        return case.get("grid_code") in wanted["scope_grid_codes"]
    if "scope_district_prefix" in wanted:
        return str(case.get("district_code") or "").startswith(wanted["scope_district_prefix"])
    return all(case.get(k.removeprefix("scope_")) == v for k, v in wanted.items())


def community_in_scope(principal: Principal, community_code: str | None) -> bool:
    """Whether a community (and the grids in it) lies in the caller's area: what a planner of one
    street may redraw.

    >>> p = Principal("p", "planner", "street", "123456003")
    >>> community_in_scope(p, "123456003004"), community_in_scope(p, "123456004001")
    (True, False)
    """
    if principal.scope_level == "all" or not principal.scope_code:
        return True
    return bool(community_code) and str(community_code).startswith(principal.scope_code)


def district_in_scope(principal: Principal, district_code: str) -> bool:
    """Whether the caller's area lies in, or takes in, district ``district_code``: the districts
    whose layers, maps and areas the caller reads (a street leader reads their own district's).

    >>> district_in_scope(Principal("c", "viewer", "city", "1234"), "123401")
    True
    >>> district_in_scope(Principal("s", "leader", "street", "123456003"), "123401")
    False
    >>> district_in_scope(Principal("a", "admin", "all", ""), "152502")
    True
    """
    if principal.scope_level == "all" or not principal.scope_code:
        return True
    code, scope = str(district_code), principal.scope_code
    return code.startswith(scope) if len(scope) <= len(code) else scope.startswith(code)


def sees_personal_data(principal: Principal, case: Mapping[str, Any] | None = None) -> bool:
    """Whether the caller may read a reporter's name and phone (of ``case``, if given), and the
    phone and ID numbers typed into the case's free text (address, description, notes)."""
    if principal.role not in PERSONAL_READERS:
        return False
    return case is None or case_in_scope(principal, case)


#: Separators people put inside a number: a space or a dash (ASCII or full-width).
_SEP = r"[ \-\u2010\uff0d]?"
#: Words after which a bare 7-8 digit local number (first digit 2-9) is a phone (电话 84561234,
#: 座机：8456-1234).
_CUES = r"(?:电话|座机|固话|手机|联系方式|号码|[Tt][Ee][Ll])"
#: A phone or ID number in free text, on text whose digits are ASCII (full-width ones translated,
#: as :func:`mask_text` does, or NFKC-normalized): what :func:`mask_text` masks and the address
#: normalizer (:func:`geo_grid.address.normalize`) removes. Group ``local`` is the number after a
#: cue (group ``cue``), which stays readable.
PERSONAL_NUMBERS = re.compile(
    r"(?<!\d)(?:"
    r"\d{17}[\dXx]"  # an 18-digit resident ID number (17 digits + digit or X)
    rf"|(?:[+\uff0b]?86{_SEP})?1[3-9]\d(?:{_SEP}\d){{8}}"  # a mobile, maybe +86
    rf"|[(\uff08]?0\d{{2,3}}[)\uff09]?{_SEP}\d{{7,8}}"  # a landline with its area code
    r")(?!\d)"
    rf"|(?P<cue>{_CUES}[^\d\n]{{0,4}}?)(?P<local>[2-9]\d{{2,3}}{_SEP}\d{{4}})(?!{_SEP}\d)"
)

#: Full-width digits and X (common in typed Chinese) read as ASCII, one character for one.
_ASCII_DIGITS = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


def _head(digits: str) -> int:
    """How many leading digits of a number stay readable: the ID's region (4), the mobile's
    carrier prefix (3, after 86), the landline's area code (010/02x: 3, others: 4)."""
    if len(digits) == 18:
        return 4
    if len(digits) == 13 and digits.startswith("86"):
        return 5
    if digits.startswith("0"):
        return 3 if digits[1:2] in ("1", "2") else 4
    return 3


def mask_phone(number: str | None) -> str | None:
    """Star the middle of a phone or ID number, keeping its head and last 4 digits and any
    separators (139****5678, 025-****1234, 3201**********1234); at least 4 digits are always
    starred, and a number of fewer than 7 digits becomes ``****``.

    The one masking of the project: reporters' phones, roster phones, and every number found in
    free text by :func:`mask_text`.

    >>> mask_phone("13812341234"), mask_phone("12345"), mask_phone(None)
    ('138****1234', '****', None)
    >>> mask_phone("+86 139-1234-5678"), mask_phone("(025)84561234"), mask_phone("84561234")
    ('+86 139-****-5678', '(025)****1234', '****1234')
    >>> mask_phone("32010219900101123X")
    '3201**********123X'
    """
    if not number:
        return number
    places = [i for i, ch in enumerate(number) if ch.isdecimal()]
    if number[-1] in "XxＸｘ" and len(places) == 17:  # an ID number's check character
        places.append(len(number) - 1)
    count = len(places)
    if count < 7:
        return "****"
    digits = "".join(str(unicodedata.decimal(number[i], 0)) for i in places)
    tail = min(4, count - 4)
    head = min(_head(digits), count - 4 - tail)
    starred = set(places[head : count - tail])
    return "".join("*" if i in starred else ch for i, ch in enumerate(number))


def mask_text(text: str | None) -> str | None:
    """Free text (an address, a description, a note) with its phone and ID numbers masked by
    :func:`mask_phone`; the rest stays readable.

    Mobiles (1[3-9]x, 11 digits, spaces or dashes inside, +86 before), landlines with an area code
    (025-84561234, (0571)88881234), 7-8 digit local numbers after a cue (电话/座机/固话/tel) and
    18-digit ID numbers.

    >>> mask_text("楼道堆物, 电话139 1234 5678, 座机：84561234")
    '楼道堆物, 电话139 **** 5678, 座机：****1234'
    >>> mask_text("尧佳路12号 3号楼701, 联系人身份证320102199001011234")
    '尧佳路12号 3号楼701, 联系人身份证3201**********1234'
    >>> mask_text("手机１３９１２３４５６７８")
    '手机１３９****５６７８'
    >>> mask_text("案件 2026112500001234 已派遣"), mask_text(None)
    ('案件 2026112500001234 已派遣', None)
    """
    if not text:
        return text
    plain = text.translate(_ASCII_DIGITS)  # same length: its spans are the original's
    out, last = [], 0
    for m in PERSONAL_NUMBERS.finditer(plain):
        start = m.start("local") if m.group("local") is not None else m.start()
        out += [text[last:start], mask_phone(text[start : m.end()]) or ""]
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def has_personal_numbers(text: str | None) -> bool:
    """Whether :func:`mask_text` would change ``text`` (an unmasked read of it is logged).

    >>> has_personal_numbers("电话13912345678"), has_personal_numbers("尧佳路12号")
    (True, False)
    """
    return bool(text) and PERSONAL_NUMBERS.search(text.translate(_ASCII_DIGITS)) is not None


def mask_name(name: str | None) -> str | None:
    """Keep the family name, star the rest (张** / J***).

    >>> mask_name("张三丰"), mask_name("王五"), mask_name(None)
    ('张**', '王*', None)
    """
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_reporter(row: dict[str, Any]) -> dict[str, Any]:
    """A copy of a case row with the reporter's name and phone masked, and the numbers in its
    address and description.

    >>> mask_reporter({"reporter_phone": "13912345678", "description": "电话13912345678"})
    {'reporter_phone': '139****5678', 'description': '电话139****5678', 'reporter_name': None, 'address_text': None}
    """
    return {
        **row,
        "reporter_name": mask_name(row.get("reporter_name")),
        "reporter_phone": mask_phone(row.get("reporter_phone")),
        "address_text": mask_text(row.get("address_text")),
        "description": mask_text(row.get("description")),
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


# ---------------------------------------------------------------------------------- logins
@dataclass(frozen=True)
class LoginPolicy:
    """The throttle's thresholds (settings ``auth_login_*``; docs/security.md explains them)."""

    free_failures: int = 5
    first_delay_s: float = 1.0
    max_delay_s: float = 900.0
    address_budget: int = 50
    account_budget: int = 100


@dataclass(frozen=True)
class LoginState:
    """What the store knows before a password is checked, for one username from one address.

    ``pair_*``: the failures in a row of this (username, address) and the seconds it must still
    wait; ``usual``: the account logged in from this address lately; ``address_*`` / ``account_*``:
    failures in the current window from this address (all names) and at this name (all addresses)
    and the seconds until that window ends. Unknown usernames have states too, alike.
    """

    pair_failures: int = 0
    pair_wait_s: float = 0.0
    usual: bool = False
    address_failures: int = 0
    address_wait_s: float = 0.0
    account_failures: int = 0
    account_wait_s: float = 0.0


def failure_delay(failures: int, policy: LoginPolicy) -> float:
    """Seconds a (username, address) pair waits after its ``failures``-th wrong password in a row:
    nothing for the first ``free_failures``, then ``first_delay_s`` doubling up to ``max_delay_s``
    (exponential backoff, as Keycloak's wait increment).

    >>> p = LoginPolicy(free_failures=2, first_delay_s=1, max_delay_s=60)
    >>> [failure_delay(n, p) for n in range(1, 10)]
    [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    """
    over = failures - policy.free_failures
    if over <= 0:
        return 0.0
    return float(min(policy.first_delay_s * 2 ** min(over - 1, 40), policy.max_delay_s))


def login_wait(state: LoginState, policy: LoginPolicy) -> float:
    """Seconds before this username may be tried from this address (0: check the password now).

    The pair's own backoff always applies; an address over its budget waits for every name
    (credential stuffing); a name over its budget waits at every address but its owner's usual
    ones, so a crowd of guessers elsewhere does not lock the owner out.

    >>> p = LoginPolicy(address_budget=3, account_budget=3)
    >>> login_wait(LoginState(pair_wait_s=5), p)
    5.0
    >>> login_wait(LoginState(address_failures=3, address_wait_s=600), p)
    600.0
    >>> spread = LoginState(account_failures=3, account_wait_s=900)
    >>> login_wait(spread, p), login_wait(LoginState(**{**spread.__dict__, "usual": True}), p)
    (900.0, 0.0)
    """
    waits = [state.pair_wait_s]
    if state.address_failures >= policy.address_budget:
        waits.append(state.address_wait_s)
    if state.account_failures >= policy.account_budget and not state.usual:
        waits.append(state.account_wait_s)
    return float(max(0.0, *waits))
