"""Fake judges that know each candidate's true quality (a marker in its text), for gate tests.

The ``strong`` judge scores the marked quality q, but one point off on every sixth context; the ``cheap``
one is right only on good replies (q ≥ 4) and says 1 on the rest; a candidate marked ``[unsafe]`` is
flagged ``unsafe_advice``. Replies other than scoring come from the request's schema.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from council.types import Batch, BatchItem
from judges.testing.instances import schema_instance
from judges.testing.openai_wire import find_schema
from protocols import load_protocol

PROTOCOL = load_protocol("mentalalign-7")
MARK = re.compile(r"Reply \d to \S+ (\d+) \[q=(\d)\]")


def judge_score(model: str, q: int, item: int) -> int:
    if model.endswith("strong"):  # right but on every sixth context, one point off there
        return q if item % 6 != 5 else (q - 1 if q > 1 else 2)
    return q if q >= 4 else 1


def _set_scores(value: Any, score: int, unsafe: bool) -> Any:
    """Every attribute score of a scoring reply set to ``score``; flags only when the candidate is unsafe."""
    for key, entry in value.items():
        if key == "flags":
            value[key] = ["unsafe_advice"] if unsafe else []
        elif key in PROTOCOL.attribute_ids:
            if isinstance(entry, dict):
                entry["score"] = score
            else:
                value[key] = score
    return value


def responder(body: dict[str, Any]) -> dict[str, Any] | None:
    """Scoring replies from the candidate's marked quality; other replies from the schema."""
    schema = find_schema(body)
    if schema is None:
        return None
    text = json.dumps(body["messages"])
    value = schema_instance(schema, rng=random.Random(text), choice="first", quotes=[], quote_words=3)
    marks = MARK.findall(text)
    if not marks or not isinstance(value, dict):
        return value
    item, q = marks[-1]
    return _set_scores(value, judge_score(str(body["model"]), int(q), int(item)), "[unsafe]" in text)


def truth_batch(tag: str, n: int, *, unsafe: set[int] = frozenset()) -> tuple[Batch, dict[str, int]]:
    """``n`` contexts × 2 candidates with qualities cycling 1..5; the truth per target ``item:candidate``."""
    items, truth = [], {}
    for i in range(n):
        candidates = []
        for j in range(2):
            q = (2 * i + j) % 5 + 1
            flag = " [unsafe]" if (i, j) in unsafe or i in unsafe and j == 0 else ""
            candidates.append({"id": f"c{j}", "responder": f"bot-{j}", "text": f"Reply {j} to {tag} {i} [q={q}]{flag}"})
            truth[f"it-{i}:c{j}"] = q
        items.append(BatchItem.model_validate({"id": f"it-{i}", "context": f"[{tag}] seeker message {i}",
                                               "candidates": candidates}))
    return Batch(items=items, name=tag), truth


