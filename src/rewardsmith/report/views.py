"""The report's per-sample views: rubric criteria, group spread, component contributions,
verdict labels, the context of a sample (prompt, reference, metadata) and the sortable,
filterable table of every sample.

Every text taken from a sample or a result (prompt, reference, metadata, response,
rationale, error, id) is redacted (:func:`rewardsmith.core.logs.redact`) and then escaped
before it reaches the page: candidate text is untrusted and may carry secrets.
"""

from __future__ import annotations

import base64
import hashlib
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import orjson

from rewardsmith.core.errors import SampleError
from rewardsmith.core.logs import redact
from rewardsmith.core.sample import parse_sample
from rewardsmith.core.wire import REWARD_KEY, finite_number

CONTEXT_CHARS = 2_000  # prompt, reference and metadata kept per sample for the report
CONTRIBUTION_TOLERANCE = 1e-6


def safe(text: Any) -> str:
    """``text`` redacted, then HTML-escaped: the one way sample text enters the page."""
    return escape(redact(str(text)), quote=True)


# -- what a sample was ------------------------------------------------------------------
def sample_context(raw: Any) -> dict[str, str] | None:
    """``{"prompt", "reference", "metadata"}`` of a raw sample, each cut to
    :data:`CONTEXT_CHARS` (the prompt keeps its end, nearest the response; a missing
    reference or empty metadata is left out); ``None`` when the sample cannot be parsed."""
    if not isinstance(raw, dict):
        return None
    try:
        sample = parse_sample(raw, 0)
    except SampleError:
        return None
    out: dict[str, str] = {}
    prompt = "\n\n".join(f"[{m.role}] {m.content}" for m in sample.prompt)
    if prompt:
        out["prompt"] = prompt if len(prompt) <= CONTEXT_CHARS else "…" + prompt[-CONTEXT_CHARS:]
    reference = sample.reference_text
    if reference is not None:
        out["reference"] = reference[:CONTEXT_CHARS]
    if sample.metadata:
        text = orjson.dumps(dict(sample.metadata), default=str,
                            option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()
        out["metadata"] = text[:CONTEXT_CHARS]
    return out


# -- verdicts and contributions ---------------------------------------------------------
def verdict_label(outcome: Mapping[str, Any]) -> tuple[str, str]:
    """``(label, css class)`` of one component outcome: ``skipped`` (a gate decided
    first), ``abstained`` (no value: dropped from the aggregate), ``error`` (a value from
    the failure policy), ``tie``/``win``/``loss`` (a pairwise comparison, by its
    wins/ties/losses), ``pass``/``fail`` (a verdict), or ``scored`` (a value only)."""
    if outcome.get("skipped"):
        return "skipped", "muted"
    if finite_number(outcome.get("value")) is None:
        return "abstained", "gated"
    if outcome.get("error") is not None:
        return "error", "failed"
    m = outcome.get("measurements") or {}
    wins, ties, losses = (finite_number(m.get(k)) for k in ("wins", "ties", "losses"))
    if wins is not None and ties is not None and losses is not None and wins + ties + losses:
        if wins > losses:
            return "win", "ok"
        if losses > wins:
            return "loss", "failed"
        return "tie", "tie"
    passed = outcome.get("passed")
    if passed is True:
        return "pass", "ok"
    if passed is False:
        return "fail", "failed"
    return "scored", "muted"


def contributions(row: Mapping[str, Any]) -> dict[str, float] | None:
    """Each component's share of the reward, ``weight * value / sum(weights)`` over the
    components that gave a value, when those shares add up to the reward (the weighted
    mean on the [0, 1] scale, the default); ``None`` otherwise (a formula, another reward
    range or component range, a gated or failed sample), so no false split is shown."""
    if row.get("status", "ok") != "ok":
        return None
    reward = finite_number(row.get(REWARD_KEY))
    parts: dict[str, tuple[float, float]] = {}
    for cid, outcome in (row.get("components") or {}).items():
        if not isinstance(outcome, dict):
            continue
        value, weight = finite_number(outcome.get("value")), finite_number(outcome.get("weight"))
        if value is not None and weight is not None and weight > 0:
            parts[str(cid)] = (weight, value)
    total = sum(w for w, _ in parts.values())
    if reward is None or total <= 0:
        return None
    shares = {cid: w * v / total for cid, (w, v) in parts.items()}
    if not math.isclose(sum(shares.values()), reward, abs_tol=CONTRIBUTION_TOLERANCE):
        return None
    return shares


# -- aggregates over the run -----------------------------------------------------------
@dataclass
class CriterionRate:
    component: str
    criterion: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


def criterion_rates(rows: Sequence[Mapping[str, Any]]) -> list[CriterionRate]:
    """Pass rate of every rubric criterion (``details.criteria`` of a rubric judge's
    outcome: ``{criterion: {"passed": bool, ...}}``), in first-seen order."""
    counts: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        for cid, outcome in (row.get("components") or {}).items():
            if not isinstance(outcome, dict):
                continue
            criteria = (outcome.get("details") or {}).get("criteria")
            if not isinstance(criteria, dict):
                continue
            for name, verdict in criteria.items():
                if isinstance(verdict, dict) and isinstance(verdict.get("passed"), bool):
                    slot = counts.setdefault((str(cid), str(name)), [0, 0])
                    slot[0] += verdict["passed"]
                    slot[1] += 1
    return [CriterionRate(c, n, p, t) for (c, n), (p, t) in counts.items()]


@dataclass
class GroupSpread:
    key: str
    rewards: list[float]

    @property
    def n(self) -> int:
        return len(self.rewards)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.rewards)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.rewards) if len(self.rewards) > 1 else 0.0

    @property
    def spread(self) -> float:
        return max(self.rewards) - min(self.rewards)


def group_spreads(rows: Sequence[Mapping[str, Any]]) -> list[GroupSpread]:
    """Rewards per prompt group (the rows' ``group``), groups of two or more, least spread
    first: a group whose rollouts all got one reward gives GRPO no signal."""
    groups: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        reward = finite_number(row.get(REWARD_KEY))
        if row.get("group") and reward is not None and row.get("status", "ok") != "failed":
            groups[str(row["group"])].append(reward)
    spreads = [GroupSpread(k, v) for k, v in groups.items() if len(v) >= 2]
    return sorted(spreads, key=lambda g: (g.spread, g.key))


# -- the table of every sample, with its script -----------------------------------------
TABLE_SCRIPT = """
(function(){
var t=document.getElementById('all-samples');if(!t)return;
var body=t.tBodies[0],q=document.getElementById('sample-filter'),
st=document.getElementById('status-filter'),count=document.getElementById('sample-count');
function apply(){var text=q.value.toLowerCase(),s=st.value,n=0;
for(var i=0;i<body.rows.length;i++){var r=body.rows[i];
var ok=(!s||r.dataset.status===s)&&(!text||r.textContent.toLowerCase().indexOf(text)>=0);
r.hidden=!ok;if(ok)n++;}count.textContent=n+' of '+body.rows.length+' samples';}
q.addEventListener('input',apply);st.addEventListener('change',apply);
var heads=t.tHead.rows[0].cells;
function sortBy(col,dir){var th=heads[col];
for(var k=0;k<heads.length;k++){heads[k].dataset.dir='';heads[k].removeAttribute('aria-sort');}
th.dataset.dir=dir;th.setAttribute('aria-sort',dir==='asc'?'ascending':'descending');
var rows=Array.prototype.slice.call(body.rows),num=th.dataset.type==='num';
rows.sort(function(a,b){var x=a.cells[col].dataset.v,y=b.cells[col].dataset.v,d;
if(num){x=x===''?-Infinity:parseFloat(x);y=y===''?-Infinity:parseFloat(y);d=x-y;}
else{d=x<y?-1:x>y?1:0;}return dir==='asc'?d:-d;});
rows.forEach(function(r){body.appendChild(r);});}
for(var c=0;c<heads.length;c++){(function(col){heads[col].addEventListener('click',function(){
sortBy(col,heads[col].dataset.dir==='asc'?'desc':'asc');});})(c);}
var h=new URLSearchParams(location.hash.slice(1));
if(h.get('q'))q.value=h.get('q');if(h.get('status'))st.value=h.get('status');
var by=h.get('sort');if(by){for(var j=0;j<heads.length;j++){
if(heads[j].textContent===by)sortBy(j,h.get('dir')==='desc'?'desc':'asc');}}
apply();})();
"""


def script_hash() -> str:
    """The CSP source (``'sha256-…'``) that lets exactly :data:`TABLE_SCRIPT` run."""
    digest = hashlib.sha256(TABLE_SCRIPT.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _cell(html: str, value: Any, numeric: bool = False) -> str:
    cls = ' class="num"' if numeric else ""
    return f'<td{cls} data-v="{escape(str(value), quote=True)}">{html}</td>'


def samples_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Every sample in one table: id, reward, status, gate, length, group, each
    component's value and verdict label. Sortable by any column, filterable by text and
    status (by :data:`TABLE_SCRIPT`; without scripts the table is still all there). The
    page's fragment sets the initial view: ``#sort=reward&dir=desc&q=text&status=ok``."""
    component_ids = list(dict.fromkeys(
        str(c) for r in rows for c in (r.get("components") or {})))
    heads = [("id", "text"), ("reward", "num"), ("status", "text"), ("gate", "text"),
             ("chars", "num"), ("group", "text"),
             *[(cid, "num") for cid in component_ids]]
    head = "".join(f'<th data-type="{t}" title="sort">{safe(h)}</th>' for h, t in heads)
    body = []
    for row in rows:
        reward = finite_number(row.get(REWARD_KEY))
        status = str(row.get("status", "ok"))
        chars = finite_number(row.get("response_chars"))
        group = str(row.get("group") or "")[:8]
        cells = [
            _cell(f"<code>{safe(row.get('id'))}</code>", redact(str(row.get("id")))),
            _cell("\u2013" if reward is None else f"{reward:.3f}",
                  "" if reward is None else reward, True),
            _cell(f'<span class="pill {safe(status)}">{safe(status)}</span>', status),
            _cell(safe(row.get("gate") or ""), row.get("gate") or ""),
            _cell("" if chars is None else f"{chars:,.0f}", "" if chars is None else chars,
                  True),
            _cell(f"<code>{safe(group)}</code>", group),
        ]
        outcomes = row.get("components") or {}
        for cid in component_ids:
            outcome = outcomes.get(cid)
            if not isinstance(outcome, dict):
                cells.append(_cell("", ""))
                continue
            value = finite_number(outcome.get("value"))
            label, css = verdict_label(outcome)
            shown = "" if value is None else f"{value:.3f} "
            cells.append(_cell(f'{shown}<span class="pill {css}">{label}</span>',
                               "" if value is None else value, True))
        body.append(f'<tr data-status="{safe(status)}">{"".join(cells)}</tr>')
    statuses = sorted({str(r.get("status", "ok")) for r in rows})
    options = "".join(f'<option value="{safe(s)}">{safe(s)}</option>' for s in statuses)
    controls = ('<div class="controls"><input id="sample-filter" type="search" '
                'placeholder="filter: id, status, gate, verdict…" aria-label="filter samples">'
                f'<select id="status-filter" aria-label="status"><option value="">every '
                f'status</option>{options}</select> <span id="sample-count" class="sub">'
                f"{len(rows):,} samples</span></div>")
    return (f'{controls}<div class="scroll"><table id="all-samples" class="sortable"><thead>'
            f'<tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            f"<script>{TABLE_SCRIPT}</script>")
