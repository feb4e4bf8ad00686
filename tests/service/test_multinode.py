"""Multi-node for real on one machine: a Ray head and a second raylet (``ray start``), the service deployed onto that
cluster, and judge work that ran on both nodes (read back from the store's ``unit_runs``)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from judges.testing import FakeOpenAIServer
from tests.service.conftest import councils, service_config
from tests.service.harness import Api, RayCluster, Service, make_items

pytestmark = [pytest.mark.service, pytest.mark.service_isolated]

N_ITEMS = 8


def test_judge_replicas_run_on_both_nodes(tmp_path: Path, api_keys: dict[str, str]) -> None:
    cluster = RayCluster(tmp_path)
    service: Service | None = None
    with FakeOpenAIServer(latency_ms=50, seed=5) as fake:
        try:
            # one judge_slot per node and one per replica: the scheduler must put a replica on each node
            cluster.start([{"node_a": 1, "judge_slot": 1}, {"node_b": 1, "judge_slot": 1}])
            nodes = cluster.nodes()
            assert len(nodes) == 2, nodes
            config = service_config(tmp_path / "svc", api_keys, councils(fake.base_url),
                                    ["--judge-replicas=2", '--judge-replica-resources={"judge_slot": 1}'],
                                    address=cluster.address)
            config.ray_tmp, config.ray_token = cluster.ray_tmp, cluster.token  # the driver joins this cluster
            service = Service(config).start()

            api = Api(service.url, api_keys["alice"])
            r = api.submit(make_items("multinode", N_ITEMS, 2), name="two nodes")
            assert r.status_code == 202, r.text
            batch_id = r.json()["batch_id"]
            status, _ = api.wait(batch_id)
            api.close()
            assert status["status"] == "completed" and status["progress"]["units_done"] == 2 * N_ITEMS

            service.stop()  # releases the store
            db = duckdb.connect(str(config.db), read_only=True)
            try:
                per_node = dict(db.execute("SELECT node_id, count(*) FROM unit_runs WHERE batch_id = ? GROUP BY 1",
                                           [batch_id]).fetchall())
            finally:
                db.close()
            assert set(per_node) == set(nodes), (per_node, nodes)  # both nodes ran judge units ...
            assert sum(per_node.values()) == 2 * N_ITEMS  # ... and every unit ran once
            labels = {next(r for r in ("node_a", "node_b") if r in nodes[n]) for n in per_node}
            assert labels == {"node_a", "node_b"}
        finally:
            if service is not None:
                service.stop()
            cluster.stop()
