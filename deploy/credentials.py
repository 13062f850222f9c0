"""`make up`'s operator credential: the control routes work on a developer's machine out of the
box, and are never open.

Unless OPERATOR_TOKEN is set (environment or `.env`), a token is generated once into the data
folder (`.stack/operator-token`, git-ignored, readable by its owner only), reused on every later
`make up`, and handed to the processes through their environment. `make up` logs where the
control routes are and where the token is, never the token itself.
"""

import logging
import os
import secrets
from pathlib import Path

logger = logging.getLogger("deploy.up")

TOKEN_FILE = "operator-token"
TOKEN_BYTES = 32  # 43 URL-safe characters


def operator_credential(env: dict[str, str], data_dir: Path) -> None:
    """Set OPERATOR_TOKEN in `env` from `data_dir`'s token file (made if missing), unless set."""
    port = env.get("PORT", "8000")
    address = f"http://{env.get('HOST', '127.0.0.1')}:{port}"
    if env.get("OPERATOR_TOKEN"):
        logger.info("control routes: %s/admin/... with your OPERATOR_TOKEN", address)
        return
    path = data_dir / TOKEN_FILE
    env["OPERATOR_TOKEN"] = _read_or_create(path)
    logger.info(
        "control routes: %s/admin/... (and %s/docs); operator token in %s: send it as"
        " 'Authorization: Bearer <token>' or log in as user 'operator' with it as password",
        address,
        address,
        path,
    )


def _read_or_create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked into place: a reader never sees half a token, and of two
        # `make up`s starting at once the first link wins and both use its token.
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(TOKEN_BYTES) + "\n")
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_text().strip()
