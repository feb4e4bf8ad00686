"""The one way to judge a batch in pairwise mode: plan pairs, every judge compares them in both orders, store.

For each (item, judge) unit the planned pairs of the context (:func:`council.pairwise.plan.plan_pairs`, from the
batch's ``pairs`` option) are sent in both orders to the executor, which runs the judge's ToM and domain once
(shared with absolute scoring, cache included) and the pairwise agent per presentation. The unit's ToM and
domain outcomes go to ``agent_outputs`` and its verdicts to ``pairwise_verdicts``, both keyed so that writing
twice is harmless: a re-run stores each verdict once and is served from the call cache with 0 calls. A context
without a planned pair (one candidate, or no candidate of the reference responder) costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from typing import Protocol as TypingProtocol

from council.pairwise.plan import ordered_pairs, plan_pairs
from council.pairwise.types import PairVerdict
from council.run import run_units
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec, PairwiseOptions, RunSummary
from judges.client.records import CallTags
from judges.pairwise_pipeline import PairToJudge, PairwiseContextJudgment
from judges.pipeline import ContextJudgment
from judges.types import Candidate, Context, JudgeSpec
from protocols import Protocol

__all__ = ["PairwiseExecutor", "pair_verdicts", "planned_presentations", "planned_verdicts", "run_pairwise_batch"]


class PairwiseExecutor(TypingProtocol):
    """Runs one judge's pairwise pipeline on one context (``LocalExecutor`` in-process, Serve replicas)."""

    async def judge_pairs(self, judge: JudgeSpec, context: Context, candidates: list[Candidate],
                          pairs: list[PairToJudge], protocol: Protocol, tags: CallTags,
                          attributes: list[str]) -> PairwiseContextJudgment:
        """Compare the given presentations of the context's candidates with this judge."""
        ...


def planned_presentations(item: BatchItem, options: PairwiseOptions) -> list[PairToJudge]:
    """Both orders of every pair the ``pairs`` option plans for this context (AB then BA per pair)."""
    planned = plan_pairs(item.id, [(c.id, c.responder) for c in item.candidates], options.pairs, seed=options.seed)
    return [PairToJudge(first=p.first, second=p.second, order=p.order) for p in ordered_pairs(planned)]


def planned_verdicts(items: Iterable[tuple[str, Sequence[tuple[str, str]]]], council: CouncilSpec,
                     options: PairwiseOptions, n_attributes: int) -> int:
    """Verdict rows a complete run stores: per context, 2 orders × planned pairs × attributes × each judge's samples.

    Args:
        items: (item_id, [(candidate_id, responder), ...]) per context, candidates in the context's order.
        council: The batch's council (its judges' ``samples``).
        options: The batch's pairwise options.
        n_attributes: Attributes each call compares on (1 for ``overall``).

    """
    samples = sum(j.samples for j in council.judges)
    presentations = sum(2 * len(plan_pairs(item_id, cands, options.pairs, seed=options.seed))
                        for item_id, cands in items)
    return presentations * n_attributes * samples


def pair_verdicts(item: BatchItem, judgment: PairwiseContextJudgment, attributes: list[str]) -> list[PairVerdict]:
    """The judge's verdict records of one context: one per presentation, sample and attribute.

    An agent that abstained gives every attribute its abstention (with the reason), never a verdict.
    """
    responder = {c.id: c.responder for c in item.candidates}
    out = []
    for judged in judgment.pairs:
        pair, outcome = judged.pair, judged.outcome
        common: dict[str, Any] = {
            "item_id": item.id, "judge_id": judgment.judge_id, "first_candidate": pair.first,
            "second_candidate": pair.second, "first_responder": responder[pair.first],
            "second_responder": responder[pair.second], "order": pair.order, "sample": judged.sample,
            "calls": outcome.calls}
        if outcome.value is None:
            reason = outcome.abstention or "invalid_output"
            out += [PairVerdict(**common, attribute=a, verdict=None, abstention=reason, detail=outcome.detail or None)
                    for a in attributes]
            continue
        for v in outcome.value.verdicts:
            out.append(PairVerdict(
                **common, attribute=v.attribute, verdict=v.verdict, p_first=v.p_first, p_second=v.p_second,
                p_tie=v.p_tie, rationale=v.rationale or None,
                abstention=None if v.verdict is not None else (v.abstention or "invalid_output"),
                detail=v.detail or None))
    return out


async def run_pairwise_batch(
    store: Store,
    batch_id: str,
    batch: Batch,
    protocol: Protocol,
    council: CouncilSpec,
    executor: PairwiseExecutor,
    options: PairwiseOptions,
    *,
    progress: Callable[[int, int, PairwiseContextJudgment], None] | None = None,
    max_items_in_flight: int = 64,
    stop_reason: Callable[[], str | None] | None = None,
) -> RunSummary:
    """Compare every planned pair of every item with every judge, in both orders, and store the verdicts.

    The summary's ``judgments`` and ``abstentions`` count verdicts (one per presentation, sample and attribute).
    Idempotent like :func:`council.run.run_batch`: a re-run stores each verdict once and costs no LLM call.
    """
    attributes = options.attributes(protocol.attribute_ids)
    total, done = len(batch.items) * len(council.judges), 0

    async def one(item: BatchItem, judge: JudgeSpec, tags: CallTags) -> None:
        nonlocal done
        pairs = planned_presentations(item, options)
        if pairs:
            judgment = await executor.judge_pairs(judge, item.as_context(), list(item.candidates), pairs, protocol,
                                                  tags, attributes)
            upstream = ContextJudgment(judge_id=judgment.judge_id, context_id=item.id, tom=judgment.tom,
                                       domain=judgment.domain, candidates=[])
            await store.write_context_judgment(batch_id, tags.run_id or "", upstream, protocol)
            await store.write_pair_verdicts(batch_id, tags.run_id, pair_verdicts(item, judgment, attributes),
                                            protocol.content_hash)
        else:
            judgment = PairwiseContextJudgment(judge_id=judge.id, context_id=item.id, tom=None, domain=None, pairs=[])
        done += 1
        if progress is not None:
            progress(done, total, judgment)

    return await run_units(store, batch_id, batch, council, one, max_items_in_flight=max_items_in_flight,
                           stop_reason=stop_reason, counts=lambda: store.verdict_counts(batch_id))
