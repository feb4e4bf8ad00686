"""The named embedded councils: ``local`` scores directly, ``local-pipeline`` runs ToM → domain → scoring."""

import pytest

from council.spec import default_council, load_council
from judges.errors import ConfigError
from judges.local.models import DEFAULT_LOCAL_COUNCIL


def test_the_default_council_is_the_best_measured_judge_scoring_directly():
    council = load_council("local")
    assert council == default_council()
    assert [j.id for j in council.judges] == list(DEFAULT_LOCAL_COUNCIL)
    assert all(not j.agents.tom and not j.agents.domain for j in council.judges)
    assert all(j.scoring == "expected" and j.score_readout for j in council.judges)


def test_the_pipeline_council_runs_every_agent_of_the_same_judges():
    council = load_council("local-pipeline")
    assert council.id == "local-pipeline"
    assert [j.id for j in council.judges] == list(DEFAULT_LOCAL_COUNCIL)
    assert all(j.agents.tom and j.agents.domain for j in council.judges)


@pytest.mark.parametrize(("name", "upstream"), [("local:smollm2-135m-instruct", False),
                                                ("local-pipeline:smollm2-135m-instruct", True)])
def test_embedded_judges_by_name_in_either_configuration(name, upstream):
    council = load_council(name)
    assert council.id == name and [j.id for j in council.judges] == ["smollm2-135m-instruct"]
    assert council.judges[0].agents.tom is upstream and council.judges[0].agents.domain is upstream


def test_an_unknown_name_says_which_names_exist():
    with pytest.raises(ConfigError, match="local-pipeline"):
        load_council("no-such-council")
    with pytest.raises(ConfigError, match="unknown local model"):
        load_council("local-pipeline:no-such-model")
