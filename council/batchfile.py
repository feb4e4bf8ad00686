"""Reading batch files: JSON Lines, one item per line; errors name the line and the field."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from council.types import Batch, BatchItem
from judges.errors import ConfigError

__all__ = ["read_batch"]


def read_batch(path: str | Path, name: str | None = None) -> Batch:
    """Parse a JSONL batch file into a :class:`Batch`.

    Raises:
        ConfigError: naming the line and field of the first invalid item.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"batch file {path} does not exist")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(BatchItem.model_validate(json.loads(line)))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}:{number}: not valid JSON ({e.msg})") from e
        except ValidationError as e:
            where = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()[:5])
            raise ConfigError(f"{path}:{number}: {where}") from e
    if not items:
        raise ConfigError(f"{path}: no items")
    try:
        return Batch(items=items, name=name or path.stem)
    except ValidationError as e:
        raise ConfigError(f"{path}: {e.errors()[0]['msg']}") from e
