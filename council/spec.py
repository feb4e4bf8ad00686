"""Council specs: the named default (the embedded local judges) or a YAML/JSON file of judges."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from council.types import CouncilSpec
from judges.errors import ConfigError
from judges.local.models import LOCAL_MODELS
from judges.local.server import local_judge_spec

__all__ = ["default_council", "load_council", "parse_council"]


def default_council() -> CouncilSpec:
    """The embedded council: every local GGUF model as a judge, median aggregation."""
    return CouncilSpec(id="local", judges=[local_judge_spec(alias) for alias in LOCAL_MODELS],
                       aggregation="median")


def _problems(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in e.errors())


def parse_council(data: dict | str) -> CouncilSpec:
    """Validate a council spec given as a mapping or YAML/JSON text; errors name the field."""
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as e:
            raise ConfigError(f"council spec is not valid YAML/JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError("council spec must be a mapping with 'judges'")
    try:
        return CouncilSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"invalid council spec: {_problems(e)}") from e


def load_council(name_or_path: str | None) -> CouncilSpec:
    """The council named ``local`` (default) or the one described in a YAML/JSON file."""
    if name_or_path in (None, "", "local"):
        return default_council()
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"council {name_or_path!r}: no such file (or use the named council 'local')")
    text = path.read_text(encoding="utf-8")
    return parse_council(json.loads(text) if path.suffix == ".json" else text)
