"""Creating tables when several processes start at once against one database."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any


def create_tables(metadata: Any, engine: Any, tables: Sequence[Any] | None = None) -> None:
    """``metadata.create_all`` that survives another process creating the same tables at the
    same moment: the loser's ``CREATE`` fails although both checked first (PostgreSQL: a
    duplicate type or table; SQLite: "table already exists", or a locked database). The
    retry finds them there."""
    from sqlalchemy.exc import (  # with the stores that use it
        IntegrityError,
        OperationalError,
        ProgrammingError,
    )

    for attempt in range(5):
        try:
            metadata.create_all(engine, tables=tables)
            return
        except (IntegrityError, OperationalError, ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
