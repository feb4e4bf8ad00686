"""Page logic with Streamlit's AppTest: the real page code against the real running service (no stubs).

Each test runs one page script in-process (``AppTest.from_string``) with ``COUNCIL_URL`` and
``COUNCIL_API_KEY`` pointing at the shared stack (tests/dashboard/stack.py), then asserts what the page
shows and how it reacts to its widgets. MentalAlign parts skip with a message when ../shared is absent.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.stack import PLANTED_ORDER, Stack

pytestmark = [pytest.mark.dashboard, pytest.mark.timeout(900)]


def page(name: str, **state: object) -> AppTest:
    """Run one page (with session state preset) and return the finished AppTest."""
    at = AppTest.from_string(f"from dashboard.views import {name}\n{name}.render()\n", default_timeout=300)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def texts(at: AppTest) -> str:
    """Every title, header, markdown, caption and info text of the page, joined."""
    parts = [*at.title, *at.subheader, *at.markdown, *at.caption, *at.info, *at.metric]
    return "\n".join(str(getattr(p, "value", "")) + " " + str(getattr(p, "label", "")) for p in parts)


def need_mentalalign(stack: Stack) -> None:
    if not stack.mentalalign:
        pytest.skip("../shared/data/mentalalign is absent: MentalAlign pages not tested")


def test_overview_counts_batches_and_datasets(env: Stack) -> None:
    at = page("overview")
    assert not at.exception
    assert at.title[0].value == "Overview"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Batches"] == "2"  # the demo batch, absolute and pairwise
    assert metrics["Datasets"] == ("1" if env.mentalalign else "0")
    assert int(metrics["Tokens"].replace(",", "")) > 0  # the demo batch's fake judges reported tokens
    frames = [d.value for d in at.dataframe]
    batches = frames[0]
    assert batches["status"].tolist() == ["completed"] * 2 and batches["progress"].tolist() == [1.0] * 2
    assert sorted(batches["mode"]) == ["absolute", "pairwise"]
    judges = frames[1]
    assert set(judges["judge_id"]) == {"fake-a", "fake-b"}
    assert judges["abstention_rate"].between(0, 1).all()


def test_agreement_on_mentalalign_shows_forms_bands_and_calibration(env: Stack) -> None:
    need_mentalalign(env)
    at = page("agreement", scope="dataset · mentalalign")
    assert not at.exception
    shown = texts(at)
    for expected in ("ICC(A,1) forest plot (item level)", "Koo & Li (2016)", "How much calibration helps",
                     "Correlations, κ, α, CCC", "Judge–judge agreement", "Human–human ceiling"):
        assert expected in shown, expected
    bands = next(d.value for d in at.dataframe if "band" in d.value.columns)
    council = bands[(bands["rater"] == "council_calibrated") & (bands["attribute"] == "guidance")]
    assert council["band"].iloc[0] in ("moderate", "good")  # held-out ICC(A,1) ≈ 0.66 on guidance
    gain = next(d.value for d in at.dataframe if "gain" in d.value.columns)
    assert (gain.set_index("attribute").loc[["guidance", "empathy"], "gain"] > 0.05).all()
    # the sidebar's ICC form and level change what is drawn
    at.selectbox(key="icc_form").set_value("ICC(C,1)")
    at.radio(key="level").set_value("system")
    at.run()
    assert not at.exception
    assert "ICC(C,1) forest plot (system level)" in texts(at)


def test_agreement_on_batch_uses_its_reference(env: Stack) -> None:
    at = page("agreement", scope=f"batch · demo · {env.batch_id}")
    assert not at.exception
    shown = texts(at)
    assert "Reference: **demo_human**" in shown
    stats = next(d.value for d in at.dataframe if "pearson" in d.value.columns)
    assert {"fake-a", "fake-b", "council"} <= set(stats["rater"])


def test_bias_page_panels(env: Stack) -> None:
    need_mentalalign(env)
    at = page("bias", scope="dataset · mentalalign", bias_attribute="empathy")
    assert not at.exception
    shown = texts(at)
    for expected in ("Mean difference (rater − human)", "Bland–Altman: empathy", "Score distributions",
                     "Source model", "Self-preference", "No length panel"):
        assert expected in shown, expected
    md = next(d.value for d in at.dataframe if "p_value" in d.value.columns and "n" in d.value.columns)
    emp = md[(md["attribute"] == "empathy") & (md["rater"] == "claude-3-7-sonnet-20250219")]
    assert 0.5 < emp["value"].iloc[0] < 0.9  # the paper's Empathy inflation (+0.6…+0.8)


def test_bias_on_batch_has_length_panel(env: Stack) -> None:
    at = page("bias", scope=f"batch · demo · {env.batch_id}")
    assert not at.exception
    assert "No length panel" not in texts(at)
    assert any("slope" not in d.value.columns and "value" in d.value.columns for d in at.dataframe)


def test_leaderboard_ranks_with_separability(env: Stack) -> None:
    need_mentalalign(env)
    at = page("leaderboard", scope="dataset · mentalalign", lb_attribute="empathy")
    assert not at.exception
    board = next(d.value for d in at.dataframe if "rank" in d.value.columns)
    assert board["rank"].tolist() == list(range(1, len(board) + 1)) and len(board) == 10
    assert (board["ci_low"] <= board["mean"]).all() and (board["mean"] <= board["ci_high"]).all()
    assert "neighbouring ranks are separable on empathy" in texts(at)
    at.selectbox(key="lb_rater").set_value("human_expert")
    at.run()
    assert not at.exception and "Ranked by **human_expert**" in texts(at)


def test_items_filters_and_shows_agent_outputs(env: Stack) -> None:
    at = page("items", scope=f"batch · demo · {env.batch_id}")
    assert not at.exception
    shown = texts(at)
    assert "Each judge's reading of the context" in shown and "ToM hypotheses" in shown
    assert "Domain checklist" in shown
    total = next(m for m in at.metric if m.label == "Items shown").value
    assert total == "4 / 4"
    at.slider(key="min_spread").set_value(4.0)
    at.run()
    assert not at.exception
    shown_now = int(next(m for m in at.metric if m.label == "Items shown").value.split(" / ")[0])
    assert shown_now <= 4


def test_calibration_page_lists_cv_and_council_snippet(env: Stack) -> None:
    need_mentalalign(env)
    at = page("calibration")
    assert not at.exception
    cv = next(d.value for d in at.dataframe if "calibrated_icc_a1" in d.value.columns)
    assert (cv["calibrated_icc_a1"] > cv["council_icc_a1"]).all()
    assert any("calibration_id: cal_" in c.value for c in at.code)


def test_pairwise_batch_status_counts_verdicts_over_http(env: Stack) -> None:
    status = env.api.status(env.pairwise_batch_id)
    # 4 contexts × C(4, 2) pairs × 2 orders × 2 judges, one 'overall' verdict each
    assert status["mode"] == "pairwise" and status["verdicts_total"] == 96 == status["judgments"]
    assert status["abstentions"] == 0 and status["progress"]["units_done"] == 8 == status["progress"]["units"]
    assert env.api.status(env.batch_id)["verdicts_total"] is None


def test_leaderboard_of_a_pairwise_batch_shows_the_planted_order_and_the_judges(env: Stack) -> None:
    at = page("leaderboard", scope=f"batch · demo-pairwise · {env.pairwise_batch_id}")
    assert not at.exception, at.exception
    shown = texts(at)
    assert not at.error, [e.value for e in at.error]
    assert "Pairwise order** (best first): " + " › ".join(PLANTED_ORDER) in shown
    for expected in ("Absolute ranking", "Pairwise ranking", "Kendall τ-b", "Judges in pairwise comparisons",
                     "**fake-a**: position consistency", "self-preference", "family fake-a: demo:empathic",
                     "**fake-b**: position consistency", "neighbouring ranks are separable"):
        assert expected in shown, (expected, shown[:3000])
    assert f"absolute batch `{env.batch_id}`" in shown  # found by its item ids
    judges = next(d.value for d in at.dataframe if "statistic" in d.value.columns and "judge" in d.value.columns)
    first = judges[judges["statistic"] == "first-position preference"]
    assert len(first) == 2 and (first["ci_low"] <= first["value"]).all() and (first["value"] <= first["ci_high"]).all()


def test_leaderboard_of_the_absolute_batch_shows_its_pairwise_twin_beside(env: Stack) -> None:
    at = page("leaderboard", scope=f"batch · demo · {env.batch_id}")
    assert not at.exception, at.exception
    shown = texts(at)
    assert not at.error, [e.value for e in at.error]
    assert "Pairwise ranking beside the absolute one" in shown and env.pairwise_batch_id in shown
    assert " › ".join(PLANTED_ORDER) in shown and "Judges in pairwise comparisons" in shown


def test_robustness_page_summarises_the_owners_reports(env: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the ``robust`` key: each stored report's per-transformation table holds its run's values; the
    ``local`` key has none (the reports and their batches belong to ``robust``)."""
    from tests.dashboard.test_robustness_browser import COLUMNS, expected_rows, matches

    at = page("robustness")
    assert not at.exception and "No robustness report yet" in texts(at)
    monkeypatch.setenv("COUNCIL_API_KEY", env.robust_key)
    at = page("robustness")
    assert not at.exception, at.exception
    labels = at.selectbox(key="robustness_report").options
    assert len(labels) == 2 and sum("defences on" in lb for lb in labels) == 1, labels
    for arm, flag in (("defended", "defences on"), ("undefended", "defences off")):
        at.selectbox(key="robustness_report").set_value(next(lb for lb in labels if flag in lb))
        at.run()
        assert not at.exception, at.exception
        frame = at.dataframe[0].value
        shown = {(r["source"], r["transformation"]): {m: float(r[c]) for c, m in COLUMNS.items()}
                 for r in frame.to_dict("records")}
        assert matches(shown, expected_rows(env.robustness[arm]), tol=1e-12), (arm, shown)
