"""Who may use the control routes: one dependency per role.

    @router.get("")                                   @router.post("/{id}/replay")
    async def listing(access: ViewerDep): ...         async def replay(_: OperatorDep): ...

Two roles, each with its own token from the settings: `viewer` reads (schedules, dead letters
without their tracebacks), `operator` also acts (replay, revoke, add and delete schedules) and
sees tracebacks. A client presents a token as `Authorization: Bearer <token>`, or as basic auth
with the role as user name (`operator:<token>`), which is what a browser's login prompt sends.

A route whose role has no token configured is off: 404 with a body saying how to turn it on,
whatever the request carries, since no credential could be right. Otherwise no credential or a
wrong one is 401 with a `WWW-Authenticate` challenge, a viewer's where an operator's is needed
403. Tokens are compared as SHA-256 digests with `hmac.compare_digest`: constant time, and no
length to leak. No token, right or wrong, is logged or echoed in a response.
"""

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from pydantic import SecretStr

from app.deps import SettingsDep
from core.settings import Settings

__all__ = ["Access", "OperatorDep", "Role", "ViewerDep", "require"]

REALM = "taskiq-stack"
# Both schemes, so a script sees it may send a bearer token and a browser shows its login.
CHALLENGE = {"WWW-Authenticate": f'Bearer realm="{REALM}", Basic realm="{REALM}"'}


class Role(IntEnum):
    """Ordered: a role may do everything a lower one may."""

    VIEWER = 1
    OPERATOR = 2


@dataclass(frozen=True, slots=True)
class Access:
    """The role a request was let in with."""

    role: Role

    @property
    def is_operator(self) -> bool:
        return self.role >= Role.OPERATOR


# auto_error=False: a missing or other-scheme header is ours to answer (404 when off, else 401).
_bearer = HTTPBearer(auto_error=False, description="OPERATOR_TOKEN or VIEWER_TOKEN")
_basic = HTTPBasic(
    auto_error=False, realm=REALM, description="user `operator` or `viewer`, the token as password"
)


def _tokens(settings: Settings) -> dict[Role, SecretStr]:
    configured = {Role.OPERATOR: settings.operator_token, Role.VIEWER: settings.viewer_token}
    return {role: token for role, token in configured.items() if token is not None}


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _role_of(
    tokens: dict[Role, SecretStr],
    bearer: HTTPAuthorizationCredentials | None,
    basic: HTTPBasicCredentials | None,
) -> Role | None:
    """The role whose token was presented; every configured token is compared, so the time
    taken does not say which one was close."""
    if bearer is not None:
        given, user = bearer.credentials, None
    elif basic is not None:
        given, user = basic.password, basic.username
    else:
        return None
    presented = _digest(given)
    matched = None
    for role, token in tokens.items():
        same = hmac.compare_digest(presented, _digest(token.get_secret_value()))
        if same and user in (None, role.name.lower()):
            matched = role
    return matched


def _off(required: Role) -> HTTPException:
    setting = "OPERATOR_TOKEN" if required is Role.OPERATOR else "OPERATOR_TOKEN or VIEWER_TOKEN"
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"the control routes for the {required.name.lower()} role are off: no credential is"
        f" configured. Set {setting} (at least 16 characters) in the web process's environment"
        " to turn them on; `make up` generates one into .stack/operator-token (docs/security.md)",
    )


def require(required: Role) -> Callable[..., Access]:
    """The dependency letting in `required` and any higher role."""

    def dependency(
        settings: SettingsDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    ) -> Access:
        tokens = _tokens(settings)
        if not any(role >= required for role in tokens):
            raise _off(required)
        if bearer is None and basic is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "credential required", headers=CHALLENGE
            )
        role = _role_of(tokens, bearer, basic)
        if role is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "credential not accepted", headers=CHALLENGE
            )
        if role < required:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {required.name.lower()} role; the credential given is a"
                f" {role.name.lower()}'s",
            )
        return Access(role)

    return dependency


ViewerDep = Annotated[Access, Depends(require(Role.VIEWER))]
OperatorDep = Annotated[Access, Depends(require(Role.OPERATOR))]
