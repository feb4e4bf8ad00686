"""Service configuration: one typed record, built from the Serve config's args or the ``council serve`` flags."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from council.service.limits import Limits
from judges.errors import ConfigError
from judges.local.models import council_home

__all__ = ["ApiKey", "ServiceArgs", "hash_key", "load_api_keys", "new_api_key"]


class ApiKey(BaseModel):
    """An API key as the operator configures it: the owner and the SHA-256 of the key (never the key)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    owner: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ServiceArgs(Limits):
    """Everything the service needs; ``serve run deploy/serve.yaml`` passes these as application args.

    The request limits (``max_items`` ...) are inherited from :class:`~council.service.limits.Limits`.
    """

    model_config = ConfigDict(extra="forbid")

    db_path: str = Field(default_factory=lambda: str(council_home() / "service.duckdb"),
                         description="DuckDB file owned by the core deployment (the single writer).")
    api_keys_file: str | None = Field(
        None, description="YAML list of {owner, sha256}; default $COUNCIL_HOME/api_keys.yaml")
    judge_replicas: int = Field(2, ge=1, description="Replicas of the judge worker deployment.")
    judge_replica_cpus: float = Field(0.5, gt=0, description="CPUs reserved per judge replica.")
    max_items_in_flight: int = Field(64, ge=1, description="Items a batch runs at once (bounds memory).")
    councils_file: str | None = Field(None, description="YAML mapping of council name → council spec.")
    start_local_judges: bool = Field(True, description="Start the embedded llama.cpp judges for the 'local' council.")
    retry_multiplier: float = Field(1.0, ge=0, description="First back-off in seconds between LLM call attempts.")
    worker_resources: dict[str, float] = Field(default_factory=dict,
                                               description="Custom Ray resources each judge replica requires.")
    allowed_api_bases: list[str] = Field(default_factory=list, description="Endpoint URL prefixes inline judges "
                                         "may send prompts to, without server credentials (named councils are the "
                                         "operator's and unrestricted).")
    allow_server_credentials: list[str] = Field(
        default_factory=list, description="litellm providers (e.g. openai) whose default endpoint inline judges "
        "may reach with the server's own credentials; none by default.")
    bootstrap_local_key: bool = Field(False, description="With no keys configured, create one for owner 'local' "
                                      "and save it to $COUNCIL_HOME/local_api_key (single-machine use).")


def hash_key(key: str) -> str:
    """SHA-256 of an API key, as stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh random API key."""
    return "ac_" + secrets.token_urlsafe(32)


def load_api_keys(path: str | None) -> dict[str, str]:
    """Map of key hash → owner from the keys file and ``$COUNCIL_API_KEYS`` (``owner:key,owner:key``)."""
    keys: dict[str, str] = {}
    default = council_home() / "api_keys.yaml"
    file = Path(path) if path else default
    if file.is_file():
        for entry in yaml.safe_load(file.read_text()) or []:
            key = ApiKey.model_validate(entry)
            keys[key.sha256] = key.owner
    elif file != default:
        raise ConfigError(f"api keys file {path} does not exist")
    for pair in filter(None, os.environ.get("COUNCIL_API_KEYS", "").split(",")):
        owner, _, key = pair.partition(":")
        if not key:
            raise ConfigError("COUNCIL_API_KEYS must look like owner:key,owner:key")
        keys[hash_key(key)] = owner
    return keys


def add_api_key(owner: str, path: str | None = None) -> str:
    """Create a key for ``owner``, append its hash to the keys file, and return the key (shown once)."""
    file = Path(path) if path else council_home() / "api_keys.yaml"
    entries = (yaml.safe_load(file.read_text()) or []) if file.is_file() else []
    key = new_api_key()
    entries.append(ApiKey(owner=owner, sha256=hash_key(key)).model_dump())
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(yaml.safe_dump(entries))
    return key


def ensure_local_key(keys_file: str | None) -> str | None:
    """With no keys configured anywhere, create one for owner ``local``, keep it for local tools, return it."""
    if load_api_keys(keys_file):
        return None
    key = add_api_key("local", keys_file)
    path = council_home() / "local_api_key"
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key
