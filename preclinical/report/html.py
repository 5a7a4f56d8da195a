"""The self-contained HTML report: one file, inline CSS and SVG, no script, no font or request to fetch.

Every string that came from a scenario, an agent or a judge is escaped (agents' replies are
untrusted). Transcripts show the judge's cited evidence highlighted where it sits.
"""

from __future__ import annotations

from typing import Any

from preclinical.domain.evidence import quoted_spans, verify_quote
from preclinical.domain.run import ScenarioRunStatus, all_criteria, describe_spec, run_verdict
from preclinical.domain.stats import NO_LEVEL, format_p
from preclinical.domain.triage import DISPLAY, LEVELS, RANK, compare, normalize_level
from preclinical.report.svg import (
    AMBER,
    BLUE,
    DECISION_COLOURS,
    GREEN,
    GREY,
    RED,
    SHORT,
    confusion_matrix,
    criterion_bars,
    esc,
    interval_chart,
    kappa_chart,
    stacked_bars,
)

DECISIONS = ("MET", "PARTIALLY MET", "NOT MET", "UNGRADED")

CSS = """
:root{--ink:#1a202c;--muted:#718096;--rule:#e2e8f0;--bg:#f7f8fa;--card:#fff;--green:#2f855a;--red:#c53030;
--amber:#b7791f;--blue:#2b6cb0;--grey:#a0aec0}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 28px 60px}
header.top{display:flex;justify-content:space-between;align-items:flex-end;gap:24px;border-bottom:3px solid var(--ink);
padding-bottom:14px;margin-bottom:22px}
header.top h1{margin:0;font-size:26px;letter-spacing:-.01em}
header.top .brand{font-size:12px;text-transform:uppercase;letter-spacing:.12em;color:var(--muted);font-weight:700}
header.top dl{display:grid;grid-template-columns:auto auto;gap:2px 12px;margin:0;font-size:12.5px;text-align:right}
header.top dt{color:var(--muted)}header.top dd{margin:0;font-weight:600}
h2{font-size:18px;margin:34px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--rule)}
h3{font-size:15px;margin:0 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--rule);border-radius:10px;padding:14px 16px}
.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em;font-weight:700}
.card .v{font-size:30px;font-weight:750;line-height:1.15;margin-top:4px}
.card .s{font-size:12px;color:var(--muted)}
.card.good .v{color:var(--green)}.card.bad .v{color:var(--red)}.card.warn .v{color:var(--amber)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
.panel{background:var(--card);border:1px solid var(--rule);border-radius:10px;padding:16px 18px;overflow-x:auto}
.panel p.note{color:var(--muted);font-size:12.5px;margin:8px 0 0}
svg.chart{max-width:100%;height:auto;display:block;font-family:inherit}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--rule);vertical-align:top}
th{font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
a{color:var(--blue);text-decoration:none}a:hover{text-decoration:underline}
.pill{display:inline-block;border-radius:999px;padding:1px 9px;font-size:11.5px;font-weight:700;white-space:nowrap}
.pass{background:#e6f4ea;color:var(--green)}.fail{background:#fde8e8;color:var(--red)}
.err{background:#fef3c7;color:#92400e}.na{background:#edf2f7;color:#4a5568}
.dec-MET{background:#e6f4ea;color:var(--green)}.dec-PARTIALLY-MET{background:#fef3c7;color:#92400e}
.dec-NOT-MET{background:#fde8e8;color:var(--red)}.dec-UNGRADED{background:#edf2f7;color:#4a5568}
.under{color:var(--red);font-weight:700}.over{color:var(--amber);font-weight:700}
.dots span{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:3px;vertical-align:-1px}
.dots .p{background:var(--green)}.dots .f{background:var(--red)}.dots .n{background:var(--grey)}
details.sr{background:var(--card);border:1px solid var(--rule);border-radius:10px;margin:10px 0}
details.panel>summary{cursor:pointer}
details.sr>summary{cursor:pointer;padding:12px 16px;display:flex;gap:10px;align-items:center;flex-wrap:wrap;
list-style:none}
details.sr>summary::-webkit-details-marker{display:none}
details.sr>summary::before{content:"\\25B8";color:var(--muted);width:12px}
details.sr[open]>summary::before{content:"\\25BE"}
details.sr>summary .name{font-weight:700;flex:1;min-width:200px}
details.sr>summary .meta{color:var(--muted);font-size:12.5px}
.srbody{padding:4px 18px 18px;border-top:1px solid var(--rule)}
.summary-line{color:#4a5568;margin:12px 0}
.criteria{list-style:none;padding:0;margin:10px 0}
.criteria li{padding:8px 0;border-bottom:1px dashed var(--rule)}
.criteria .ctext{font-weight:600}.criteria .why{color:#4a5568;font-size:13px;margin-top:2px}
.criteria .ev{font-size:12.5px;margin-top:3px}
.criteria .crit{font-size:10.5px;font-weight:800;color:var(--red);letter-spacing:.06em;margin-left:6px}
.chat{display:flex;flex-direction:column;gap:8px;margin-top:12px}
.msg{max-width:78%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere;
border:1px solid var(--rule);scroll-margin-top:20px}
.msg.patient{align-self:flex-start;background:#f1f5f9;border-top-left-radius:3px}
.msg.agent{align-self:flex-end;background:#ebf4ff;border-color:#c3dafe;border-top-right-radius:3px}
.msg .who{display:block;font-size:11px;font-weight:700;color:var(--muted);text-transform:uppercase;
letter-spacing:.05em;margin-bottom:2px;white-space:normal}
.msg.cited{box-shadow:0 0 0 2px #f6e05e}
.msg:target{box-shadow:0 0 0 3px var(--blue)}
.tag{display:inline-block;font-size:10.5px;font-weight:700;border-radius:4px;padding:0 5px;margin-left:4px;
background:#fefcbf;color:#744210;text-transform:none;letter-spacing:0}
.tag.con{background:#fed7d7;color:#9b2c2c}.tag.disp{background:#bee3f8;color:#2a4365}
mark{background:#fefcbf;border-bottom:2px solid #d69e2e;padding:0 1px;border-radius:2px}
mark.con{background:#fed7d7;border-bottom-color:var(--red)}
mark.disp{background:#bee3f8;border-bottom-color:var(--blue)}
.verdict{font-size:17px;font-weight:700;padding:14px 18px;border-radius:10px;border:1px solid var(--rule);
background:var(--card)}
.verdict.worse{border-left:6px solid var(--red)}.verdict.better{border-left:6px solid var(--green)}
.verdict.same{border-left:6px solid var(--grey)}
footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--rule);padding-top:10px}
@media print{body{background:#fff}details.sr{break-inside:avoid}main{max-width:none}}
"""


# ---- small pieces --------------------------------------------------------------------------------


def _page(title: str, body: str, generated_at: str | None) -> str:
    stamp = f"Generated {esc(generated_at)} by Preclinical." if generated_at else "Generated by Preclinical."
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>{body}"
        f"<footer>{stamp} Self-contained: no scripts, fonts or network requests. "
        "Intervals are Wilson 95% intervals; paired tests are exact McNemar tests.</footer></main></body></html>\n"
    )


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}%"


def _ci(ci: list[float] | None) -> str:
    return "" if not ci else f"95% CI {ci[0]:.1f}–{ci[1]:.1f}%"


def _card(key: str, value: str, sub: str = "", tone: str = "") -> str:
    return (f'<div class="card {tone}"><div class="k">{esc(key)}</div><div class="v">{esc(value)}</div>'
            f'<div class="s">{esc(sub)}</div></div>')


def _level(value: Any) -> str:
    level = normalize_level(value or "")
    return DISPLAY.get(level, "—") if level else "—"


def _verdict_pill(row: dict[str, Any]) -> str:
    if row.get("repeats") and row.get("graded"):  # a scenario's repeats in a comparison
        return (f'<span class="pill {"pass" if row.get("passed") else "fail"}">passed {row["passes"]}/'
                f'{row["graded"]}</span>')
    if row.get("status") == ScenarioRunStatus.ERROR:
        return '<span class="pill err">error</span>'
    if row.get("passed") is None:
        return f'<span class="pill na">{esc(row.get("status") or "no verdict")}</span>'
    return '<span class="pill pass">pass</span>' if row["passed"] else '<span class="pill fail">fail</span>'


def _decision_pill(decision: str) -> str:
    return f'<span class="pill dec-{esc(decision.replace(" ", "-"))}">{esc(decision.lower())}</span>'


def _placement(row: dict[str, Any]) -> str:
    if not normalize_level(row.get("gold_standard") or "") or row.get("passed") is None:
        return ""
    place = row.get("triage_comparison") or compare(row.get("triage_result"), row.get("gold_standard")) or "none"
    unread = row.get("triage_status") if row.get("triage_status") in ("ambiguous", "unreadable") else None
    return {"under": '<span class="under">under</span>', "over": '<span class="over">over</span>',
            "none": f'<span class="under">no answer{f" ({unread})" if unread else ""}</span>', "correct": "✓",
            "acceptable": "✓ acceptable alternative"}.get(place, "")


def _header(title: str, facts: list[tuple[str, Any]]) -> str:
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts if v not in (None, ""))
    return (f'<header class="top"><div><div class="brand">Preclinical report</div><h1>{esc(title)}</h1></div>'
            f"<dl>{dl}</dl></header>")


# ---- a run ---------------------------------------------------------------------------------------


def render_run(model: dict[str, Any]) -> str:
    run, summary, rows = model["run"], model["summary"], model["scenario_runs"]
    triage = summary["triage"]
    title = run.get("name") or f"Run {run.get('test_run_id')}"
    if model.get("grading"):
        title += f" — regraded: {model['grading']['label']}"
    header = _header(title, [
        ("Run", run.get("test_run_id")), ("Agent", run.get("agent_name")), ("Provider", run.get("agent_type")),
        ("Status", run.get("status")),
        ("Verdict", f"{run_verdict(run).headline}: {run_verdict(run).reason}"),
        ("Started", (run.get("started_at") or "")[:19].replace("T", " ")),
        ("Engine", describe_spec(run.get("spec"))),
        ("Graded by", ", ".join(model.get("graders") or []) or None),
    ])
    pass_tone = "" if summary["pass_rate"] is None else ("good" if summary["pass_rate"] >= 80 else
                                                          "warn" if summary["pass_rate"] >= 50 else "bad")
    cards = "".join([
        _card("Pass rate", _pct(summary["pass_rate"]), f"{summary['passed']} of {summary['graded']} · "
              + _ci(summary["pass_rate_ci"]), pass_tone),
        _card("Triage accuracy", _pct(triage["accuracy"]), f"{triage['correct']} of {triage['graded']} · "
              + _ci(triage["accuracy_ci"])),
        _card("Under-triage", str(triage["under_triage"]), "agent chose less urgent care than gold",
              "bad" if triage["under_triage"] else "good"),
        _card("Over-triage", str(triage["over_triage"]), "agent chose more urgent care than gold",
              "warn" if triage["over_triage"] else ""),
        _card("Scenario runs", str(summary["n"]), f"{summary['errors']} errors" + (
            f" · {triage['no_answer']} without a triage answer" if triage["no_answer"] else ""),
              "bad" if summary["errors"] else ""),
    ])
    rates = interval_chart([
        {"label": "Pass rate", "value": summary["pass_rate"], "ci": summary["pass_rate_ci"],
         "note": f"{summary['passed']}/{summary['graded']} graded", "colour": GREEN},
        {"label": "Triage accuracy", "value": triage["accuracy"], "ci": triage["accuracy_ci"],
         "note": f"{triage['correct']}/{triage['graded']} with a gold level", "colour": BLUE},
    ])
    parts = [header, f'<section class="cards">{cards}</section>',
             '<h2>Rates and triage</h2><div class="grid2">',
             f'<div class="panel"><h3>Rates with 95% intervals</h3>{rates}<p class="note">The whisker is the range '
             "the rate would plausibly take on a fresh sample of scenarios like these.</p>"
             f"{_by_gold(triage['matrix'], triage.get('matrix_acceptable'))}</div>",
             '<div class="panel"><h3>Triage confusion matrix</h3>'
             f'{confusion_matrix(triage["matrix"], acceptable=triage.get("matrix_acceptable"))}'
             f'<p class="note">Every scenario run with a gold level counts, repeats included. Under-triage '
             f"{triage['under_triage']}, over-triage {triage['over_triage']}.</p></div></div>"]
    axes = model.get("axes") or []
    if axes:
        parts.append('<h2>Criteria by axis</h2><div class="panel">')
        parts.append(stacked_bars([{"label": a["axis"].replace("_", " "), **a} for a in axes], DECISIONS,
                                  DECISION_COLOURS, label="Criterion outcomes per axis"))
        parts.append('<p class="note">Criterion results of every scenario run, by the rubric\'s axis tag; '
                     "ungraded criteria (no grader could judge them) are left out of the points.</p></div>")
    if model.get("repeats"):
        parts.append(_repeats(model["repeats"]))
    if model.get("agreement"):
        parts.append(_agreement(model["agreement"]))
    if model.get("clinicians"):
        parts.append(_agreement(model["clinicians"]))
    parts.append(_scenario_table(rows, run.get("repeats") or 1))
    parts.append("<h2>Transcripts</h2>")
    parts.extend(_scenario_run(i, row, run.get("repeats") or 1) for i, row in enumerate(rows))
    return _page(f"Preclinical report: {title}", "".join(parts), model.get("generated_at"))


def _by_gold(matrix: dict[str, dict[str, int]], acceptable: dict[str, dict[str, int]] | None = None) -> str:
    """Triage by gold level: cases, correct, under, over, no answer (the matrix read row by row). An answer the case
    accepts though it is not the gold level (`acceptable`, same shape) is counted apart, as the triage tally does,
    not as under- or over-triage; the column shows only when there are such answers."""
    lines = []
    accepted_any = any(n for counts in (acceptable or {}).values() for n in counts.values())
    for gold in reversed(LEVELS):
        counts = matrix.get(gold, {})
        total = sum(counts.values())
        if not total:
            continue
        ok = (acceptable or {}).get(gold, {})
        under = sum(n - ok.get(level, 0) for level, n in counts.items() if level in RANK and RANK[level] < RANK[gold])
        over = sum(n - ok.get(level, 0) for level, n in counts.items() if level in RANK and RANK[level] > RANK[gold])
        accepted = sum(n for level, n in ok.items() if level != gold)
        none = counts.get(NO_LEVEL, 0)
        lines.append(f"<tr><td>{esc(DISPLAY[gold])}</td><td class=\"num\">{total}</td>"
                     f"<td class=\"num\">{counts.get(gold, 0)}</td>"
                     + (f"<td class=\"num\">{accepted}</td>" if accepted_any else "")
                     + f"<td class=\"num{' under' if under else ''}\">{under}</td>"
                     f"<td class=\"num{' over' if over else ''}\">{over}</td>"
                     f"<td class=\"num{' under' if none else ''}\">{none}</td></tr>")
    if not lines:
        return ""
    return ('<h3 style="margin-top:16px">Triage by gold level</h3><table><thead><tr><th>Gold</th><th class="num">Cases'
            '</th><th class="num">Correct</th>' + ('<th class="num">Alt.*</th>' if accepted_any else "")
            + '<th class="num">Under</th><th class="num">Over</th>'
            '<th class="num">No answer</th></tr></thead><tbody>' + "".join(lines) + "</tbody></table>"
            + ('<p class="note">* Alt.: not the gold level but one the case accepts (its acceptable levels); counted '
               "apart, neither correct nor under- or over-triage.</p>" if accepted_any else ""))


def _scenario_table(rows: list[dict[str, Any]], k: int = 1) -> str:
    lines = []
    for i, row in enumerate(rows):
        repeat = f'<td class="num">{(row.get("repeat_index") or 0) + 1}/{k}</td>' if k > 1 else ""
        score = "—" if row.get("score_percent") is None or row.get("passed") is None else f"{row['score_percent']:.0f}%"
        lines.append(
            f'<tr><td><a href="#sr{i}">{esc(row.get("scenario_name") or row.get("scenario_id") or "—")}</a></td>'
            f"{repeat}"
            f"<td>{_verdict_pill(row)}</td><td>{esc(_level(row.get('gold_standard')))}</td>"
            f"<td>{esc(_level(row.get('triage_result')))}</td><td>{_placement(row)}</td>"
            f'<td class="num">{score}</td></tr>')
    return ('<h2>Scenario runs</h2><div class="panel"><table><thead><tr><th>Scenario</th>'
            + ('<th class="num">Repeat</th>' if k > 1 else "") + '<th>Verdict</th>'
            '<th>Gold</th><th>Agent said</th><th>Triage</th><th class="num">Score</th></tr></thead><tbody>'
            + "".join(lines) + "</tbody></table></div>")


def _repeats(repeats: dict[str, Any]) -> str:
    overall = repeats["overall"]
    k = overall["k"]

    def share(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.0f}%"

    kappa = overall["disposition_kappa"]
    cards = "".join([
        _card(f"pass@{k}", share(overall["pass_at_k"]), "scenarios passing in at least one repeat"),
        _card(f"worst-of-{k}", share(overall["worst_of_k"]), "scenarios passing in every repeat",
              "bad" if (overall["worst_of_k"] or 0) < (overall["pass_at_k"] or 0) else "good"),
        _card("Pass rate, all repeats", share(overall["pass_rate"]), "every graded repeat counted"),
        _card("Disposition agreement", share(overall["disposition_agreement"]),
              f"pairs of repeats with the same disposition · Fleiss κ {'—' if kappa is None else f'{kappa:.2f}'}"),
        _card("Score spread", "—" if overall["score_sd_mean"] is None else f"±{overall['score_sd_mean']:.1f}",
              "mean SD of a scenario's score across repeats (points of %)"),
    ])
    rows = []
    for item in repeats["scenarios"]:
        dots = "".join('<span class="n" title="no verdict"></span>' if v is None else
                       f'<span class="{"p" if v else "f"}" title="{"pass" if v else "fail"}"></span>'
                       for v in item["verdicts"])
        score = item["score"]
        spread = "—" if score["mean"] is None else (
            f"{score['mean']:.0f}%" + ("" if score["sd"] is None else f" ± {score['sd']:.1f}"))
        score_range = "" if score["mean"] is None else f"range {score['min']:.0f}–{score['max']:.0f}%"
        agree = item["disposition_agreement"]
        rows.append(
            f"<tr><td>{esc(item.get('scenario_name') or item['scenario_id'])}</td>"
            f'<td class="dots">{dots}</td><td>{"✓" if item["worst_of_k"] else "✗" if item["graded"] else "—"}</td>'
            f"<td>{esc(_level(item.get('gold_standard')))}</td>"
            f"<td>{esc(' · '.join(SHORT.get(d, 'none') for d in item['dispositions']))}</td>"
            f'<td class="num">{"—" if agree is None else f"{agree * 100:.0f}%"}</td>'
            f'<td class="num" title="{esc(score_range)}">{esc(spread)}</td></tr>')
    return (f"<h2>Repeats: {k} per scenario</h2>" f'<section class="cards">{cards}</section>'
            '<div class="panel" style="margin-top:12px"><table><thead><tr><th>Scenario</th><th>Repeats</th>'
            f"<th>Worst-of-{k}</th><th>Gold</th><th>Dispositions</th><th class=\"num\">Agreement</th>"
            '<th class="num">Score ± SD</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>"
            '<p class="note">A scenario passes worst-of-k only if every repeat passes. Agreement is the share of '
            "pairs of repeats that reached the same disposition.</p></div>")


def _agreement(data: dict[str, Any]) -> str:
    """Agreement between two gradings of the same transcripts (a regrade, or clinicians against the judge)."""
    overall, flips = data["overall"], data["flips"]
    kappa = overall.get("kappa")
    cards = "".join([
        _card("Cohen's κ, all criteria", "—" if kappa is None else f"{kappa:.2f}",
              (f"95% CI {overall['ci'][0]:.2f} to {overall['ci'][1]:.2f} · " if overall.get("ci") else "")
              + f"{overall.get('n', 0)} criterion pairs"),
        _card("Percent agreement", "—" if overall.get("observed") is None else f"{overall['observed'] * 100:.0f}%",
              "criteria graded the same"),
        _card("Verdict flips", str(flips["flips"]),
              f"{flips['pass_to_fail']} pass→fail, {flips['fail_to_pass']} fail→pass of {flips['pairs']}",
              "bad" if flips["flips"] else "good"),
        _card("Disposition", "—" if data["disposition"].get("observed") is None else
              f"{data['disposition']['observed'] * 100:.0f}%",
              "agree on the level of care" + ("" if data["disposition"].get("kappa") is None else
                                              f" · κ {data['disposition']['kappa']:.2f}")),
    ])
    items = [{"label": str(k).replace("_", " "), **v} for k, v in (data.get("by_axis") or {}).items()]
    chart = kappa_chart(items) if items else ""
    lines = "".join(
        f"<tr><td>{esc(d.get('scenario_name') or d.get('scenario_id'))}"
        + (f" <span class=\"meta\">({esc(d['reviewer'])})</span>" if d.get("reviewer") else "")
        + f"</td><td>C{(d.get('criterion_index') or 0) + 1} "
        f"{esc(d.get('criterion'))}</td><td>{_decision_pill(d['a'])}</td><td>{_decision_pill(d['b'])}</td></tr>"
        for d in (data.get("disagreements") or [])[:40])
    more = len(data.get("disagreements") or []) - 40
    first, second = (esc(c) for c in data.get("columns") or ("First", "Second"))
    count = len(data.get("disagreements") or [])
    table = ('<details class="panel" style="margin-top:12px"><summary><b>Where they disagree</b> '
             f'<span class="meta">({count} criterion decisions; open to list them)</span></summary><table><thead><tr>'
             f"<th>Scenario</th><th>Criterion</th><th>{first}</th><th>{second}</th></tr></thead><tbody>"
             f"{lines}</tbody></table>" + (f'<p class="note">… and {more} more.</p>' if more > 0 else "")
             + "</details>") if lines else ""
    return (f"<h2>Agreement: {esc(data.get('title') or 'two gradings')}</h2>"
            f'<section class="cards">{cards}</section>'
            + (f'<div class="panel" style="margin-top:12px"><h3>κ per axis (95% interval)</h3>{chart}</div>'
               if chart else "") + table)


def _evidence_marks(row: dict[str, Any]) -> tuple[dict[tuple[int, int], list[tuple[int, int, str, str]]],
                                                      dict[int, list[tuple[str, str]]]]:
    """Highlights per message (turn, index in turn) and criterion tags per turn, from the cited evidence."""
    transcript = [e for e in row.get("transcript") or [] if isinstance(e, dict)]
    by_turn: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for entry in transcript:
        if isinstance(entry.get("turn"), int):
            turn_list = by_turn.setdefault(entry["turn"], [])
            turn_list.append((len(turn_list), entry))
    marks: dict[tuple[int, int], list[tuple[int, int, str, str]]] = {}
    tags: dict[int, list[tuple[str, str]]] = {}

    def place(turn: int | None, evidence: str, kind: str, label: str) -> None:
        if turn is None or turn not in by_turn:
            return
        if (label, kind) not in tags.setdefault(turn, []):
            tags[turn].append((label, kind))
        for index, entry in by_turn[turn]:
            for start, end in quoted_spans(evidence, entry.get("content") or ""):
                marks.setdefault((turn, index), []).append((start, end, kind, label))

    for result in all_criteria(row):
        label = f"C{(result.get('criterion_index') or 0) + 1}"
        for key, kind in (("supporting_evidence", "sup"), ("contradicting_evidence", "con")):
            for evidence in result.get(key) or []:
                place(verify_quote(evidence, transcript).turn, evidence, kind, label)
    extraction = ((row.get("metadata") or {}).get("grader") or {}).get("triage_extraction") or {}
    if extraction.get("quote") and isinstance(extraction.get("turn"), int):
        place(extraction["turn"], f'"{extraction["quote"]}"', "disp", "disposition")
    return marks, tags


def _highlight(text: str, spans: list[tuple[int, int, str, str]]) -> str:
    out, at = [], 0
    for start, end, kind, label in sorted(spans):
        if start < at:  # overlapping quotes: keep the first
            continue
        out.append(esc(text[at:start]))
        out.append(f'<mark class="{kind}" title="{esc(label)}">{esc(text[start:end])}</mark>')
        at = end
    out.append(esc(text[at:]))
    return "".join(out)


def _scenario_run(i: int, row: dict[str, Any], k: int = 1) -> str:
    marks, tags = _evidence_marks(row)
    transcript = [e for e in row.get("transcript") or [] if isinstance(e, dict)]
    agent_turns = {e.get("turn") for e in transcript if e.get("role") == "target"}
    score = "" if row.get("passed") is None or row.get("score_percent") is None else (
        f"{row['score_percent']:.0f}% · {row.get('total_points') or 0:g}/{row.get('max_points') or 0:g} points")
    repeat = f"repeat {(row.get('repeat_index') or 0) + 1}/{k} · " if k > 1 else ""
    summary = (f'<summary><span class="name">{esc(row.get("scenario_name") or row.get("scenario_id") or "—")}'
               f"</span>{_verdict_pill(row)}<span class=\"meta\">{repeat}"
               f"gold {esc(_level(row.get('gold_standard')))} · "
               f"agent {esc(_level(row.get('triage_result')))} {_placement(row)}"
               f"{' · ' + esc(score) if score else ''}</span></summary>")
    body = []
    if row.get("grade_summary"):
        body.append(f'<p class="summary-line">{esc(row["grade_summary"])}</p>')
    if row.get("error_message"):
        body.append(f'<p class="summary-line"><span class="pill err">{esc(row.get("error_code") or "error")}</span> '
                    f"{esc(row['error_message'])}</p>")
    results = all_criteria(row)
    if results:
        body.append(f'<div style="max-width:560px;margin-top:10px">{criterion_bars(results)}</div>')
        items = []
        for result in results:
            n = (result.get("criterion_index") or 0) + 1
            evidence = "".join(
                f'<div class="ev">{"↳" if key == "supporting_evidence" else "✗"} '
                f"{_evidence_link(i, ev, transcript)}</div>"
                for key in ("supporting_evidence", "contradicting_evidence") for ev in result.get(key) or [])
            critical = '<span class="crit">CRITICAL</span>' if result.get("critical") else ""
            items.append(f'<li><b>C{n}</b> {_decision_pill(result.get("decision") or "NOT MET")} '
                         f'<span class="ctext">{esc(result.get("criterion"))}</span>{critical}'
                         f'<div class="why">{esc(result.get("rationale"))}</div>{evidence}</li>')
        body.append(f'<ul class="criteria">{"".join(items)}</ul>')
    chat = []
    seen: dict[int, int] = {}
    for entry in transcript:
        turn = entry.get("turn")
        index = seen.get(turn, 0) if isinstance(turn, int) else 0
        if isinstance(turn, int):
            seen[turn] = index + 1
        role = "agent" if entry.get("role") == "target" else "patient"
        text = entry.get("content") if isinstance(entry.get("content"), str) else ""
        spans = marks.get((turn, index), []) if isinstance(turn, int) else []
        # a turn's criterion tags sit on the agent's reply, or on the patient's message when the agent never replied
        on_this = role == "agent" or turn not in agent_turns
        turn_tags = tags.get(turn, []) if isinstance(turn, int) and on_this else []
        chips = "".join(f'<span class="tag {kind}">{esc(label)}</span>' for label, kind in turn_tags)
        anchor = f' id="sr{i}-t{turn}"' if isinstance(turn, int) and on_this and index == 0 else (
            f' id="sr{i}-p{turn}"' if isinstance(turn, int) else "")
        cited = " cited" if spans or chips else ""
        who = "Agent" if role == "agent" else "Patient"
        chat.append(f'<div class="msg {role}{cited}"{anchor}><span class="who">{who}'
                    f" · turn {esc(turn)}{chips}</span>{_highlight(text, spans)}</div>")
    if chat:
        body.append(f'<h3 style="margin-top:14px">Transcript</h3><div class="chat">{"".join(chat)}</div>')
    return f'<details class="sr" id="sr{i}">{summary}<div class="srbody">{"".join(body)}</div></details>'


def _evidence_link(i: int, evidence: str, transcript: list[dict[str, Any]]) -> str:
    """The evidence text, linked to the turn where its quote was found."""
    turn = verify_quote(evidence, transcript).turn
    return esc(evidence) if turn is None else f'<a href="#sr{i}-t{turn}">{esc(evidence)}</a>'


# ---- a comparison --------------------------------------------------------------------------------


def _side_placement(side: dict[str, Any]) -> str:
    """Where one side of a compared scenario landed against the gold: under, over, or an acceptable alternative."""
    return {"under": ' <span class="under">(under)</span>', "over": ' <span class="over">(over)</span>',
            "acceptable": " (✓ acceptable alternative)"}.get(side.get("triage") or "", "")


def render_comparison(model: dict[str, Any]) -> str:
    result = model["comparison"]
    base, cand = result["base"], result["candidate"]
    verdict = result["verdict"]
    tone = {"worse": "worse", "better": "better"}.get(verdict.get("direction") or "", "same")
    if verdict.get("regression"):
        tone = "worse"
    title = f"{base['run']['test_run_id']} → {cand['run']['test_run_id']}"
    header = _header("Run comparison", [
        ("Base", f"{base['run']['test_run_id']} ({base['run'].get('agent_name') or '—'})"),
        ("Candidate", f"{cand['run']['test_run_id']} ({cand['run'].get('agent_name') or '—'})"),
        ("Paired scenarios", result["paired"]),
    ])
    passing, triage = result["pass"], result["triage"]

    def delta(value: float | None) -> str:
        return "—" if value is None else f"{value:+.1f} pp"

    cards = "".join([
        _card("Pass rate", f"{_pct(base['pass_rate'], 0)} → {_pct(cand['pass_rate'], 0)}",
              f"{delta(passing['delta'])} · {format_p(passing['p_value'])} · {passing['fixed']} fixed, "
              f"{passing['broken']} broken"),
        _card("Triage accuracy", f"{_pct(base['triage']['accuracy'], 0)} → {_pct(cand['triage']['accuracy'], 0)}",
              f"{delta(triage['delta'])} · {format_p(triage['p_value'])} · {triage['gained']} gained, "
              f"{triage['lost']} lost"),
        *([_card("Acceptable alternative",
                 f"{base['triage'].get('acceptable', 0)} → {cand['triage'].get('acceptable', 0)}",
                 "not the gold level but one the case accepts; counted apart from correct")]
          if base["triage"].get("acceptable") or cand["triage"].get("acceptable") else []),
        _card("Under-triage", f"{base['triage']['under_triage']} → {cand['triage']['under_triage']}",
              f"{len(result['changes']['new_under_triaged_emergencies'])} emergencies newly under-triaged",
              "bad" if result["changes"]["new_under_triaged_emergencies"] else ""),
        _card("Errors", f"{base['errors']} → {cand['errors']}", "scenario runs that ended in an error"),
    ])
    rates = interval_chart([
        {"label": "Pass rate · base", "value": base["pass_rate"], "ci": base["pass_rate_ci"], "colour": GREY},
        {"label": "Pass rate · candidate", "value": cand["pass_rate"], "ci": cand["pass_rate_ci"], "colour": GREEN},
        {"label": "Triage · base", "value": base["triage"]["accuracy"], "ci": base["triage"]["accuracy_ci"],
         "colour": GREY},
        {"label": "Triage · candidate", "value": cand["triage"]["accuracy"], "ci": cand["triage"]["accuracy_ci"],
         "colour": BLUE},
    ])
    parts = [header, f'<div class="verdict {tone}">{esc(verdict["text"])}</div>',
             f'<section class="cards" style="margin-top:14px">{cards}</section>',
             f'<h2>Rates with 95% intervals</h2><div class="panel">{rates}<p class="note">Overlapping intervals do '
             "not settle a difference: the paired test on the scenarios both runs played does.</p></div>",
             '<h2>Triage confusion matrices</h2><div class="grid2">',
             '<div class="panel"><h3>Base</h3>'
             f'{confusion_matrix(base["triage"]["matrix"], acceptable=base["triage"].get("matrix_acceptable"))}</div>',
             '<div class="panel"><h3>Candidate</h3>'
             f'{confusion_matrix(cand["triage"]["matrix"], acceptable=cand["triage"].get("matrix_acceptable"))}'
             '</div></div>']
    labels = (("new_under_triaged_emergencies", "Emergencies newly under-triaged", RED), ("broken", "Broken", RED),
              ("fixed", "Fixed", GREEN), ("triage_changed", "Triage changed", AMBER))
    for key, label, _ in labels:
        changes = result["changes"][key]
        if not changes:
            continue
        lines = "".join(
            f"<tr><td>{esc(c.get('scenario_name') or c['scenario_id'])}</td><td>{esc(_level(c.get('gold_standard')))}"
            f"</td><td>{_verdict_pill(c['base'])} {esc(_level(c['base'].get('triage_result')))}"
            f"{_side_placement(c['base'])}</td><td>{_verdict_pill(c['candidate'])} "
            f"{esc(_level(c['candidate'].get('triage_result')))}{_side_placement(c['candidate'])}</td></tr>"
            for c in changes)
        parts.append(f"<h2>{esc(label)} ({len(changes)})</h2><div class=\"panel\"><table><thead><tr><th>Scenario</th>"
                     f"<th>Gold</th><th>Base</th><th>Candidate</th></tr></thead><tbody>{lines}</tbody></table></div>")
    for key, label in (("only_in_base", "Only in the base run"), ("only_in_candidate", "Only in the candidate run")):
        if result[key]:
            names = ", ".join(esc(r.get("scenario_name") or r["scenario_id"]) for r in result[key])
            parts.append(f'<h2>{label} ({len(result[key])})</h2><div class="panel">{names}</div>')
    return _page(f"Preclinical comparison: {title}", "".join(parts), model.get("generated_at"))


def render(model: dict[str, Any]) -> str:
    return render_comparison(model) if model.get("kind") == "comparison" else render_run(model)
