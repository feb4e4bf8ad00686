"""Estimating a batch's calls, tokens and cost before it runs (the dry run)."""

from __future__ import annotations

import os
from collections.abc import Callable

from council.service.schemas import Estimate
from council.types import Batch, BatchItem, CouncilSpec, PairwiseOptions
from judges.agents._common import brief
from judges.prompts import load_prompt
from judges.types import JudgeSpec
from protocols import Protocol

__all__ = ["estimate_batch", "estimate_pairwise"]

_UPSTREAM_OUTPUT_CHARS = 1200  # ToM hypotheses + domain checklist as the scorer reads them


def _template_chars(name: str) -> int:
    """The agent's own text (its user template); the shared brief is counted separately."""
    return len(load_prompt(name).user)


def _max_cost(judge: JudgeSpec, prompt_tokens: int, completion_tokens: int) -> float | None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    try:
        prompt_cost, completion_cost = litellm.cost_per_token(model=judge.model, prompt_tokens=prompt_tokens,
                                                              completion_tokens=completion_tokens)
    except Exception:  # noqa: BLE001 - models outside litellm's price map have no known cost
        return None
    return float(prompt_cost + completion_cost)


def estimate_batch(batch: Batch, protocol: Protocol, council: CouncilSpec,
                   pairwise: PairwiseOptions | None = None) -> Estimate:
    """Upper-bound calls and tokens: no repairs counted, no cache hits (and no prompt caching) assumed.

    Every call sends the panel brief (instructions and the rubric) as its system message. With ``pairwise``
    the batch is a pairwise one (:func:`estimate_pairwise`).
    """
    if pairwise is not None:
        return estimate_pairwise(batch, protocol, council, pairwise)
    shared = len(brief(protocol))

    def judge_cost(judge: JudgeSpec) -> tuple[int, int]:
        j_calls = j_chars = 0
        for item in batch.items:
            context = len(item.as_context().transcript())
            upstream = int(judge.agents.tom) + int(judge.agents.domain)
            j_calls += upstream + len(item.candidates) * judge.samples
            j_chars += _upstream_chars(judge, shared, context)
            if judge.agents.safety:  # the risk screen once, the advice screen per candidate (judges.agents.safety)
                j_calls += 1 + len(item.candidates)
                j_chars += (_template_chars("risk_screen.v1") + context
                            + sum(_template_chars("advice_screen.v1") + context + len(c.text) for c in item.candidates))
            for candidate in item.candidates:
                j_chars += judge.samples * (shared + _template_chars("scoring.v2") + context + len(candidate.text)
                                            + _UPSTREAM_OUTPUT_CHARS * bool(upstream))
        return j_calls, j_chars

    return _estimate(batch, council, judge_cost)


def _upstream_chars(judge: JudgeSpec, shared: int, context: int) -> int:
    """Prompt characters of a judge's ToM and domain calls on one context (0 for an agent that is off)."""
    return (judge.agents.tom * (shared + _template_chars("tom.v2") + context)
            + judge.agents.domain * (shared + _template_chars("domain.v2") + context + _UPSTREAM_OUTPUT_CHARS))


def _estimate(batch: Batch, council: CouncilSpec, judge_cost: Callable[[JudgeSpec], tuple[int, int]]) -> Estimate:
    """The batch's estimate from each judge's (calls, prompt characters); completions bounded by max_tokens."""
    calls = prompt_chars = completion = 0
    costs: list[float | None] = []
    for judge in council.judges:
        j_calls, j_chars = judge_cost(judge)
        calls += j_calls
        prompt_chars += j_chars
        completion += j_calls * judge.params.max_tokens
        costs.append(_max_cost(judge, j_chars // 4, j_calls * judge.params.max_tokens))
    return Estimate(contexts=len(batch.items), candidates=batch.n_candidates, judges=len(council.judges), calls=calls,
                    calls_per_context=calls / len(batch.items), prompt_tokens=prompt_chars // 4,
                    max_completion_tokens=completion,
                    max_cost_usd=None if any(c is None for c in costs) else sum(costs))  # type: ignore[arg-type]


def _planned(item: BatchItem, options: PairwiseOptions) -> int:
    from council.pairwise.plan import plan_pairs

    return len(plan_pairs(item.id, [(c.id, c.responder) for c in item.candidates], options.pairs, seed=options.seed))


def estimate_pairwise(batch: Batch, protocol: Protocol, council: CouncilSpec, options: PairwiseOptions) -> Estimate:
    """Upper bounds of a pairwise batch's calls and tokens.

    Per judge and context with p planned pairs: ToM + domain + 2·p·samples calls
    (:func:`council.pairwise.plan.planned_calls`; ``2 + k(k−1)`` for all pairs); a context without a pair costs
    none. Each pairwise call reads the context, the panel's notes and both candidates.
    """
    from council.pairwise.plan import planned_calls

    shared = len(brief(protocol))
    planned = {item.id: _planned(item, options) for item in batch.items}  # the same plan for every judge

    def judge_cost(judge: JudgeSpec) -> tuple[int, int]:
        j_calls = j_chars = 0
        upstream = int(judge.agents.tom) + int(judge.agents.domain)
        for item in batch.items:
            n_pairs = planned[item.id]
            if n_pairs == 0:
                continue
            context = len(item.as_context().transcript())
            j_calls += planned_calls(n_pairs, tom=judge.agents.tom, domain=judge.agents.domain, samples=judge.samples)
            j_chars += _upstream_chars(judge, shared, context)
            mean_pair = 2 * sum(len(c.text) for c in item.candidates) / len(item.candidates)
            per_call = (shared + _template_chars("pairwise.v1") + context + mean_pair
                        + _UPSTREAM_OUTPUT_CHARS * bool(upstream))
            j_chars += int(2 * n_pairs * judge.samples * per_call)
        return j_calls, j_chars

    return _estimate(batch, council, judge_cost)
