"""Human pairwise preferences through real HTTP: import onto a pairwise batch, idempotent re-import, errors naming
the field, owner isolation, and the agreement answer (Kendall τ, pair agreement per judge and council, ceiling).

The shared service's fake judges answer pairwise prompts with arbitrary schema-valid verdicts, so the judges'
agreement values are not known here; the human–human ceiling is: ann and bo agree on 11 of the 12 pairs.
"""

from __future__ import annotations

import httpx
import pytest

from tests.service.clean import assert_clean_error
from tests.service.harness import Api, Service, make_items

pytestmark = pytest.mark.service

PAIRS = [("c0", "c1"), ("c0", "c2"), ("c1", "c2")]
N_ITEMS = 4


def _content(flip_one: bool = True, preference: str = "A") -> str:
    """ann prefers the lower-numbered candidate everywhere; bo too, except a tie on the first pair of it-0."""
    lines = ["item_id,candidate_a,candidate_b,preference,rater"]
    for i in range(N_ITEMS):
        for a, b in PAIRS:
            lines.append(f"it-{i},{a},{b},{preference},ann")
            bo = "tie" if flip_one and (i, a, b) == (0, "c0", "c1") else preference
            lines.append(f"it-{i},{b},{a},{'B' if bo == 'A' else bo},bo")  # listed the other way round
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def pairwise_batch(service: Service, api_keys: dict[str, str]) -> str:
    api = Api(service.url, api_keys["alice"])
    r = api.submit(make_items("human-pairwise", N_ITEMS, 3), mode="pairwise")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    assert api.wait(batch_id)[0]["status"] == "completed"
    api.close()
    return batch_id


def _import(api: Api, batch_id: str, content: str) -> httpx.Response:
    return api.http.post(f"/v1/batches/{batch_id}/pairwise/human", json={"format": "csv", "content": content})


def test_import_then_agreement_then_reimport(alice: Api, pairwise_batch: str) -> None:
    r = _import(alice, pairwise_batch, _content())
    assert r.status_code == 201, r.text
    rec = r.json()
    assert (rec["n_preferences"], rec["n_pairs"], rec["n_replaced"], rec["raters"]) == (24, 12, 0, ["ann", "bo"])

    r = alice.http.get(f"/v1/batches/{pairwise_batch}/pairwise/human", params={"n_boot": 50, "seed": 1})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["batch_id"] == pairwise_batch and got["n_preferences"] == 24 and got["n_pairs"] == 12
    assert got["n_pairs_multi_rated"] == 12 and 0 < got["n_pairs_judged"] <= 12
    ceiling = {c["statistic"]: c for c in got["ceiling"]}
    exact = ceiling["pair_agreement_rate"]
    assert (exact["n"], exact["k"], exact["reference"]) == (24, 2, "other_humans")
    assert exact["value"] == pytest.approx(22 / 24)  # each of the two raters, on 11 of 12 pairs
    assert exact["ci_method"] == "cluster-bootstrap(50, seed=1)" and exact["n_contexts"] == N_ITEMS
    assert ceiling["decisive_agreement_rate"]["n"] == 22 and ceiling["decisive_agreement_rate"]["value"] == 1.0
    raters = {a["rater"] for a in got["agreement"]}
    assert raters == {"fake-a", "fake-b", "council"}
    for a in got["agreement"]:
        if a["statistic"] == "pair_agreement_rate":
            assert a["n"] == got["n_pairs_judged"] and a["k"] == 2 and a["reference"] == "human_majority"
            assert 0 <= a["value"] <= 1
    assert len(got["rankings"]) + len(got["notes"]) >= 1
    for tau in got["rankings"]:
        assert tau["statistic"] == "kendall_tau_b" and tau["reference"] == "human_pairwise_bt"
        assert tau["n_responders"] == 3 and -1 <= tau["value"] <= 1

    again = _import(alice, pairwise_batch, _content())
    assert again.status_code == 201 and again.json()["n_replaced"] == 24
    after = alice.http.get(f"/v1/batches/{pairwise_batch}/pairwise/human", params={"n_boot": 50, "seed": 1}).json()
    assert after == got  # same preferences, same seed: the same answer, nothing stored twice


def test_bad_files_are_422_naming_the_field_and_lose_nothing(alice: Api, pairwise_batch: str) -> None:
    assert _import(alice, pairwise_batch, _content()).status_code == 201
    body = assert_clean_error(_import(alice, pairwise_batch, _content(preference="maybe")), 422, "preference")
    assert "data row 1" in body["error"]
    unknown = "item_id,candidate_a,candidate_b,preference,rater\nit-0,c0,c7,A,ann\n"
    assert "data row 1" in assert_clean_error(_import(alice, pairwise_batch, unknown), 422, "candidate_b")["error"]
    judge = "item_id,candidate_a,candidate_b,preference,rater\nit-0,c0,c1,A,fake-a\n"
    assert_clean_error(_import(alice, pairwise_batch, judge), 422, "rater")
    assert_clean_error(_import(alice, pairwise_batch, 'item_id,candidate_a\n"it-0,c0\n'), 422, "content")
    assert_clean_error(_import(alice, pairwise_batch, "x" * 20_000), 413, "content")
    r = alice.http.get(f"/v1/batches/{pairwise_batch}/pairwise/human", params={"n_boot": 20})
    assert r.status_code == 200 and r.json()["n_preferences"] == 24
    assert_clean_error(alice.http.get(f"/v1/batches/{pairwise_batch}/pairwise/human",
                                      params={"n_boot": 10**6}), 422, "n_boot")


def test_another_owner_can_neither_import_nor_read(bob: Api, alice: Api, pairwise_batch: str) -> None:
    assert _import(alice, pairwise_batch, _content()).status_code == 201
    assert_clean_error(_import(bob, pairwise_batch, _content()), 404, "batch_id")
    assert_clean_error(bob.http.get(f"/v1/batches/{pairwise_batch}/pairwise/human"), 404, "batch_id")
    assert_clean_error(alice.http.get("/v1/batches/b_doesnotexist/pairwise/human"), 404, "batch_id")
    r = alice.http.get(f"/v1/batches/{pairwise_batch}/pairwise/human", params={"n_boot": 20})
    assert r.status_code == 200 and r.json()["n_preferences"] == 24  # bob's attempt changed nothing
