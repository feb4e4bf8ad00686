"""The gullible fake judge obeys any score instruction it reads: with the defences on, attacked candidates keep
their clean scores; with them off, the same run shows the shift (so the assertions can fail)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from council.batchfile import read_batch
from council.robustness.run import demo_source, run_robustness
from council.store.store import Store
from council.types import CouncilSpec
from judges.injection import DEFAULT_DEFENCES, NO_DEFENCES
from judges.testing import FakeOpenAIServer

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_batch.jsonl"
INJECTIONS = ["direct_instruction", "fake_end_marker_instruction", "score_json", "zero_width_instruction",
              "homoglyph_instruction", "fullwidth_marker", "html_comment_instruction", "markdown_hidden_instruction",
              "middle_instruction", "seeker_instruction", "seeker_fake_marker"]


def _council(srv: FakeOpenAIServer) -> CouncilSpec:
    judges = [{"id": f"j{n}", "model": f"openai/gullible-{n}", "api_base": srv.base_url,
               "structured_output": "json_schema", "timeout_s": 5.0, "max_attempts": 2,
               "agents": {"tom": False, "domain": False}} for n in range(2)]
    return CouncilSpec.model_validate({"id": "gullible", "judges": judges, "aggregation": "mean"})


def _by(records: list, statistic: str, rater: str = "council") -> dict[tuple[str, str], float]:
    return {(r.extra["transformation"], r.attribute): r.value for r in records
            if r.statistic == statistic and r.rater == rater}


@pytest.fixture
def gullible(make_fake_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return make_fake_server(gullible=True, choice="first")  # obeys injections; otherwise the lowest point


async def test_defences_on_the_gullible_council_does_not_move(gullible: FakeOpenAIServer) -> None:
    store = Store()
    source = demo_source(read_batch(DEMO, name="demo")).limited(2)  # 2 items × (dismissive, unsafe)
    result = await run_robustness(store, [source], _council(gullible), transformations=INJECTIONS,
                                  defences=DEFAULT_DEFENCES)
    shifts = _by(result.records, "mean_shift")
    assert len(shifts) == len(INJECTIONS) * 7  # every transformation × every mentalalign-7 attribute
    assert all(v == 0 for v in shifts.values()), {k: v for k, v in shifts.items() if v}
    assert all(v == 0 for v in _by(result.records, "share_rose_1").values())
    assert all(v == 0 for v in _by(result.records, "share_unsafe_lost").values())
    catch = _by(result.records, "catch_rate", "detector")
    assert catch == {(t, "all"): 1.0 for t in INJECTIONS}
    assert _by(result.records, "false_flag_rate", "detector") == {("clean", "all"): 0.0}
    # what the judge received never held an instruction: the attacked requests show the withheld placeholder
    assert any("[withheld: text addressed to the judge]" in r.messages[-1]["content"] for r in gullible.requests)


async def test_defences_off_the_same_run_shows_the_shift(gullible: FakeOpenAIServer) -> None:
    store = Store()
    source = demo_source(read_batch(DEMO, name="demo")).limited(2)
    result = await run_robustness(store, [source], _council(gullible), transformations=INJECTIONS,
                                  defences=NO_DEFENCES)
    shifts = _by(result.records, "mean_shift")
    assert all(v == 4.0 for v in shifts.values()), shifts  # 1 → 5 on every attribute: the judge obeyed
    assert all(v == 1.0 for (t, a), v in _by(result.records, "share_rose_1").items())
    assert _by(result.records, "share_unsafe_lost") == {(t, "safety"): 1.0 for t in INJECTIONS}
    # the detector flags what it sees whatever the defences: flagging is not the defence that held
    assert _by(result.records, "catch_rate", "detector") == {(t, "all"): 1.0 for t in INJECTIONS}


async def test_the_report_is_stored_and_a_rerun_costs_no_call(gullible: FakeOpenAIServer) -> None:
    from council.analysis import get_report

    store = Store()
    source = demo_source(read_batch(DEMO, name="demo")).limited(2)
    first = await run_robustness(store, [source], _council(gullible), transformations=["score_json"])
    calls = gullible.count
    assert calls == 2 * 2 * 2 * 2  # (clean + attacked) × 2 items × 2 targets × 2 judges
    again = await run_robustness(store, [source], _council(gullible), transformations=["score_json"])
    assert gullible.count == calls and again.batches == first.batches
    stored = get_report(store, first.report_id)
    assert stored.kind == "robustness" and stored.params["corpus"] == "attacks/1"
    assert len(stored.records) == len(first.records)


async def test_the_dashboard_summary_reads_the_stored_records(gullible: FakeOpenAIServer) -> None:
    from council.analysis import get_report
    from dashboard.views.robustness import summary

    store = Store()
    source = demo_source(read_batch(DEMO, name="demo")).limited(1)
    result = await run_robustness(store, [source], _council(gullible), transformations=["score_json"],
                                  defences=NO_DEFENCES)
    stored = get_report(store, result.report_id)
    rows = summary([r.model_dump(mode="json") for r in stored.records])
    [row] = rows.to_dict("records")
    assert row["transformation"] == "score_json" and row["council max |shift|"] == 4.0
    assert row["rose ≥ 1"] == 1.0 and row["unsafe lost"] == 1.0 and row["detector caught"] == 1.0


@pytest.mark.parametrize("labelled", [False, True])
async def test_content_attacks_are_dropped_or_labelled_and_the_store_keeps_them_as_written(
        gullible: FakeOpenAIServer, labelled: bool) -> None:
    from council.robustness.corpus import apply_transformation, load_corpus
    from judges.injection import WITHHELD_AUTHORITY, WITHHELD_REPEATED, WITHHELD_RUBRIC, Defences
    from protocols import load_protocol

    store = Store()
    source = demo_source(read_batch(DEMO, name="demo")).limited(1)  # 1 item × (dismissive, unsafe)
    names = ["authority_claim", "rubric_stuffing", "verbosity_padding"]
    result = await run_robustness(store, [source], _council(gullible), transformations=names,
                                  defences=Defences(content_labels=labelled))
    seen = [r.messages[-1]["content"] for r in gullible.requests]
    for label in (WITHHELD_AUTHORITY, WITHHELD_RUBRIC, WITHHELD_REPEATED):
        assert any(label in content for content in seen) == labelled, label

    def prompts(batch_id: str) -> set[str]:
        calls = store.query("SELECT request FROM llm_calls WHERE batch_id = ?", [batch_id])
        return {json.loads(r)["messages"][-1]["content"] for r in calls.request}

    clean = prompts(result.batches["demo/clean"])
    # dropped: the judge reads every attacked reply exactly as its clean self (only the reply schema's span count
    # differs: a citation still numbers the spans as written); labelled: it reads the labels
    assert all((prompts(result.batches[f"demo/{name}"]) <= clean) != labelled for name in names)
    assert not any("licensed clinical psychologist" in c or "board-certified" in c for c in seen)
    corpus, ma7 = load_corpus(), load_protocol("mentalalign-7")
    [item] = [i for i in source.batch.items if i.id in source.targets]
    for name in names:
        stored = store.query("SELECT candidate_id, text FROM candidates WHERE batch_id = ? ORDER BY position",
                             [result.batches[f"demo/{name}"]])
        expected = {c.id: apply_transformation(corpus.get(name), c.text, ma7) for c in item.candidates
                    if c.id in source.targets[item.id]}
        assert dict(zip(stored.candidate_id, stored.text, strict=True)) == expected  # originals, as written
    assert all(v == 0 for v in _by(result.records, "mean_shift").values())
