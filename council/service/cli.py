"""``council serve`` and ``council keys``: run the Serve application locally or on a Ray cluster."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from judges.local.models import council_home

__all__ = ["local_api_key", "local_ray_options", "register", "serve_forever"]

log = logging.getLogger(__name__)


def local_api_key() -> str | None:
    """The key ``council serve`` generated for the local owner, if any (for the dashboard and examples)."""
    path = council_home() / "local_api_key"
    return path.read_text().strip() if path.is_file() else None


def serve_forever(settings: dict[str, Any], *, host: str, port: int, address: str | None,
                  metrics_port: int | None, ready: threading.Event | None = None) -> None:
    """Start Ray (or join a cluster), deploy the application, and block until SIGINT/SIGTERM."""
    import ray
    from ray import serve

    from council.service.app import build_app

    if address:
        ray.init(address=address, namespace="council")
    else:
        ray.init(**local_ray_options(host, metrics_port))
    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(settings), name="council", route_prefix="/")
    print(f"COUNCIL_URL=http://{host}:{port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if ready is not None:
        ready.set()
    stop.wait()
    serve.shutdown()
    ray.shutdown()


def local_ray_options(host: str, metrics_port: int | None) -> dict[str, Any]:
    """``ray.init`` options of the local Ray instance: no dashboard, and Ray's token auth left on.

    Ray 2.60 turns token authentication on by default for a new local cluster (the token in
    ``~/.ray/auth_token`` or ``RAY_AUTH_TOKEN``), so its ports (GCS, raylet, object manager, agents), which
    listen on every interface whatever ``--host`` says (Ray refuses a loopback node address), answer no
    client without the token. ``RAY_AUTH_MODE=disabled`` turns that off; we warn when it is.
    """
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        log.warning("RAY_AUTH_MODE=disabled: Ray's ports accept anyone who can reach them; close them with a "
                    "firewall (README: what an unauthenticated client can see)")
    return {"include_dashboard": False, "namespace": "council", "_metrics_export_port": metrics_port}


def _cmd_serve(args: argparse.Namespace) -> int:
    from council.service.config import ServiceArgs

    settings = ServiceArgs(
        db_path=args.db or str(council_home() / "service.duckdb"),
        api_keys_file=args.api_keys_file or str(council_home() / "api_keys.yaml"),
        judge_replicas=args.judge_replicas, councils_file=args.councils, start_local_judges=not args.no_local_judges,
        bootstrap_local_key=True, **_limits(args),
    )
    Path(settings.db_path).parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    serve_forever(settings.model_dump(), host=args.host, port=args.port, address=args.address,
                  metrics_port=args.metrics_port)
    return 0


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    """Collect the limits, egress rules and replica resources given on the command line (unset: defaults)."""
    from council.service.limits import Limits

    given = {name: getattr(args, name) for name in Limits.model_fields}
    given.update(worker_resources=args.judge_replica_resources, allowed_api_bases=args.allow_api_base,
                 allow_server_credentials=args.allow_server_credentials)
    return {name: value for name, value in given.items() if value is not None}


def _json_resources(text: str) -> dict[str, float]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not JSON: {e}") from e
    if not isinstance(value, dict) or not all(isinstance(v, int | float) for v in value.values()):
        raise argparse.ArgumentTypeError('expected a JSON object of numbers, e.g. \'{"judge_slot": 1}\'')
    return {str(k): float(v) for k, v in value.items()}


def _cmd_keys(args: argparse.Namespace) -> int:
    from council.service.config import add_api_key

    print(add_api_key(args.owner, args.file))
    return 0


def register(sub: Any) -> None:
    """Add ``serve`` and ``keys`` to the ``council`` command."""
    serve = sub.add_parser("serve", help="run the HTTP service (Ray Serve) on this machine or a Ray cluster")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", default=None, help="DuckDB file (default $COUNCIL_HOME/service.duckdb)")
    serve.add_argument("--api-keys-file", default=None, help="YAML list of {owner, sha256} (see `council keys`)")
    serve.add_argument("--judge-replicas", type=int, default=2)
    serve.add_argument("--councils", default=None, help="YAML mapping of council name → council spec")
    serve.add_argument("--no-local-judges", action="store_true", help="do not start the embedded llama.cpp judges")
    serve.add_argument("--address", default=None, help="join a running Ray cluster (e.g. auto) instead of starting one")
    serve.add_argument("--metrics-port", type=int, default=8080, help="Prometheus metrics port of the local Ray node")
    from council.service.limits import Limits

    for name, field in Limits.model_fields.items():  # every request limit is a flag (README: the limits table)
        serve.add_argument(f"--{name.replace('_', '-')}", type=int, default=None,
                           help=f"{field.description} (default {field.default})")
    serve.add_argument("--allow-api-base", action="append", default=None, metavar="URL_PREFIX",
                       help="endpoint URL prefix inline judges may send prompts to, without server credentials "
                            "(repeatable; none by default)")
    serve.add_argument("--allow-server-credentials", action="append", default=None, metavar="PROVIDER",
                       help="litellm provider (e.g. openai) whose default endpoint inline judges may reach with the "
                            "server's own credentials (repeatable; none by default)")
    serve.add_argument("--judge-replica-resources", type=_json_resources, default=None, metavar="JSON",
                       help='custom Ray resources each judge replica requires, e.g. \'{"judge_slot": 1}\' '
                            "(give each node one judge_slot to put one replica per node)")
    serve.set_defaults(func=_cmd_serve)

    keys = sub.add_parser("keys", help="manage the service's API keys")
    key_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = key_sub.add_parser("create", help="create a key: its hash goes to the keys file, the key is shown once")
    create.add_argument("owner")
    create.add_argument("--file", default=None, help="keys file (default $COUNCIL_HOME/api_keys.yaml)")
    create.set_defaults(func=_cmd_keys)
