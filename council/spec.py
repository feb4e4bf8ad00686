"""Council specs: the named default (the embedded local judges) or a YAML/JSON file of judges."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from council.types import CouncilSpec
from judges.errors import ConfigError
from judges.local.models import DEFAULT_LOCAL_COUNCIL, LOCAL_MODELS
from judges.local.server import local_judge_spec
from judges.types import AgentSwitches
from protocols import Protocol

__all__ = ["check_scoring", "default_council", "load_council", "local_council", "parse_council"]


def default_council() -> CouncilSpec:
    """The embedded council: the local judges, in the configuration, that agree best with experts.

    Measured by bench/bench_validity.py on the EPITOME expert set: the 1.5B judge scoring directly
    (calibrated κ 0.36 / 0.54 / 0.72) agrees far better than the same judge after ToM and domain
    (0.09 / 0.33 / 0.58), so the default runs the scoring agent only; ``local-pipeline`` runs all three.
    """
    return local_council(list(DEFAULT_LOCAL_COUNCIL), council_id="local")


def local_council(aliases: list[str], *, council_id: str | None = None, pipeline: bool = False,
                  screens: bool = False) -> CouncilSpec:
    """A council of embedded judges by model alias (``--council local:ALIAS,ALIAS``).

    ``pipeline`` runs ToM → domain → scoring for every judge (``--council local-pipeline[:ALIAS,...]``);
    without it a judge scores directly, the configuration the validity benchmark found better for them.
    ``screens`` adds the safety screens (``--council local-screened[:ALIAS,...]``), which send risky
    contexts and harmful advice to the review queue of a gated batch without changing any score.
    """
    unknown = [a for a in aliases if a not in LOCAL_MODELS]
    if unknown or not aliases:
        raise ConfigError(f"unknown local model(s) {unknown or aliases}; known: {', '.join(LOCAL_MODELS)}")
    prefix = "local-pipeline" if pipeline else "local-screened" if screens else "local"
    agents = AgentSwitches(tom=pipeline, domain=pipeline, safety=screens)
    return CouncilSpec(id=council_id or f"{prefix}:" + ",".join(aliases),
                       judges=[local_judge_spec(alias, agents=agents) for alias in aliases], aggregation="median")


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
    """A named council or a YAML/JSON file.

    Names: ``local`` (the default), ``local:ALIAS,...`` (embedded judges by model), ``local-pipeline`` and
    ``local-pipeline:ALIAS,...`` (the same judges running ToM → domain → scoring), ``local-screened`` and
    ``local-screened:ALIAS,...`` (scoring directly, plus the safety screens of :mod:`judges.agents.safety`).
    """
    if name_or_path in (None, "", "local"):
        return default_council()
    if name_or_path == "local-pipeline":
        return local_council(list(DEFAULT_LOCAL_COUNCIL), council_id="local-pipeline", pipeline=True)
    if name_or_path == "local-screened":
        return local_council(list(DEFAULT_LOCAL_COUNCIL), council_id="local-screened", screens=True)
    for prefix, pipeline, screens in (("local:", False, False), ("local-pipeline:", True, False),
                                      ("local-screened:", False, True)):
        if name_or_path.startswith(prefix):
            aliases = [a.strip() for a in name_or_path.removeprefix(prefix).split(",") if a.strip()]
            return local_council(aliases, pipeline=pipeline, screens=screens)
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"council {name_or_path!r}: no such file (or use a named council: 'local', "
                          "'local:ALIAS,...', 'local-pipeline', 'local-pipeline:ALIAS,...')")
    text = path.read_text(encoding="utf-8")
    return parse_council(json.loads(text) if path.suffix == ".json" else text)


def check_scoring(council: CouncilSpec, protocol: Protocol) -> None:
    """Refuse, before any call, a judge whose scoring mode cannot work with this protocol or provider.

    ``expected`` scoring reads one digit token per score, so every scale point must be a single digit;
    and it needs top logprobs, which some providers never return (litellm knows for hosted models; for a
    self-hosted endpoint only a call tells, and a reply without them is a ``no_logprobs`` abstention).

    Raises:
        ConfigError: naming the judge's field.
    """
    from judges.client.adapter import supports_logprobs

    for i, judge in enumerate(council.judges):
        if judge.scoring != "expected":
            continue
        if not all(0 <= p <= 9 for p in protocol.scale.points):
            raise ConfigError(f"council.judges.{i}.scoring: expected scoring reads one digit per score, but "
                              f"protocol {protocol.id!r} has scale {protocol.scale.min}-{protocol.scale.max}; "
                              "use scoring: argmax")
        if supports_logprobs(judge) is False:
            raise ConfigError(f"council.judges.{i}.scoring: {judge.model} returns no logprobs, which expected "
                              "scoring needs; use scoring: argmax")
