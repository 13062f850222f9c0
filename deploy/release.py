"""The release step: migrations and seed data, run once before the processes start.

`make release` (and `make up`) run it; no per-process hook does, so one-time work happens once
however many web servers and worker children there are.
"""

import asyncio
import logging

from alembic import command
from alembic.config import Config
from sqlalchemy.dialects.postgresql import insert

from core.db.models import Currency
from core.db.schema import ALEMBIC_INI
from core.resources import open_resources
from core.settings import Settings, get_settings

logger = logging.getLogger("release")

CURRENCIES = {
    "EUR": "Euro",
    "USD": "US dollar",
    "GBP": "Pound sterling",
    "CHF": "Swiss franc",
    "JPY": "Japanese yen",
    "CNY": "Renminbi",
    "CAD": "Canadian dollar",
    "AUD": "Australian dollar",
    "SEK": "Swedish krona",
    "PLN": "Polish zloty",
}


def migrate(database_url: str) -> None:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False  # keep the release step's own logging
    command.upgrade(config, "head")


async def seed(settings: Settings) -> None:
    async with open_resources(settings) as resources, resources.sessionmaker.begin() as session:
        await session.execute(
            insert(Currency)
            .values([{"code": code, "name": name} for code, name in CURRENCIES.items()])
            .on_conflict_do_nothing()
        )


def release(settings: Settings) -> None:
    migrate(settings.database_url)
    asyncio.run(seed(settings))
    logger.info("release done: schema at head, seed data present")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s [%(name)s] %(message)s")
    release(get_settings())
