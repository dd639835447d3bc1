"""`stance report`: scored rows -> one self-contained HTML page that opens offline.

The page shows, per actor, how many articles present it as supporting, opposing,
mixed or neutral (the article-level stance of the summary rule; taken from summary
rows when given, else derived from the pair rows); the same counts over time when
the rows carry a date; and per actor its strongest evidence sentences (the most
confident support and oppose pairs), the actor's mentions and the deciding words
highlighted, each linked to its article in a list at the end.

Charts are Plotly figures with plotly.js inlined once: the page loads nothing from
the network. Div ids are fixed, so the same rows give the same bytes.
"""

from __future__ import annotations

import collections
import datetime
import html
from pathlib import Path

from pipeline.data.actors import ActorRegistry
from pipeline.data.labels import UNCERTAIN, scored_article_stance
from pipeline.data.target import Target
from pipeline.errors import DataError
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.files import atomic_output
from pipeline.reporting.highlight import Highlighter, marked_html
from pipeline.reporting.rows import ScoredRows, read_scored
from pipeline.scoring.outputs import check_outputs

ARTICLE_STANCES = ("support", "oppose", "mixed", "neutral", UNCERTAIN)  # uncertain: scored with --min-confidence
COLOURS = {"support": "#1a9850", "oppose": "#d73027", "mixed": "#8e6bbf", "neutral": "#b0b0b0", UNCERTAIN: "#e2d9c3"}
EVIDENCE_STANCES = ("support", "oppose")
DAILY_SPAN_DAYS = 92  # longer spans are counted per month
CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def write_report(inputs: list[str], output: str, target: str | Path, evidence: int = 5) -> tuple[int, int]:
    """Write the page atomically; return (articles, actors) it covers.

    `target` is the target's folder: its name titles the page, its registry finds the
    mentions and its cue lexicon the deciding words."""
    if Path(output).suffix.lower() not in (".html", ".htm"):
        raise DataError(output, None, "the report is an HTML page; give --output a .html path")
    check_outputs(list(inputs), {"--output": output})
    files = {name: Path(target) / f"{name}.yaml" for name in ("target", "actors", "cues")}
    for path in files.values():
        if not path.is_file():
            raise DataError(
                path, None, "file not found; run in the project folder or give the target's folder with --target"
            )
    registry = ActorRegistry.load(files["actors"])
    # The page shows no frame roles, but a role naming no actor of the registry is a broken lexicon.
    highlighter = Highlighter(registry, load_cue_lexicon(files["cues"], registry.actors))
    scored = read_scored(inputs)
    check_actors(scored, registry, files["actors"])
    page, articles, actor_count = build_page(scored, highlighter, evidence, Target.load(files["target"]).name)
    with atomic_output(output) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return articles, actor_count


def check_actors(scored: ScoredRows, registry: ActorRegistry, registry_file: Path) -> None:
    """Rows scored for another target name actors this registry does not know: their mentions
    would not be found and the page would mix two stories, so the report stops at the first."""
    known = set(registry.actors)
    for row in [*scored.pairs, *scored.summaries]:
        if row["actor"] is not None and row["actor"] not in known:
            raise DataError(
                row["origin"],
                None,
                f"actor {row['actor']!r} is not in {registry_file}; give the --target the rows were scored for, or score them again",
            )


def article_stances(scored: ScoredRows) -> dict[tuple[str, str], str]:
    """{(article, actor): stance}: from summary rows where given, else by the summary rule over the pairs."""
    labels: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for row in scored.pairs:
        labels[(row["article_id"], row["actor"])].append(row["stance"])
    stances = {key: scored_article_stance(values) for key, values in labels.items()}
    stances.update({(r["article_id"], r["actor"]): r["stance"] for r in scored.summaries if r["actor"]})
    return stances


def article_dates(scored: ScoredRows) -> dict[str, str | None]:
    dates: dict[str, str | None] = {}
    for row in [*scored.pairs, *scored.summaries]:
        if dates.get(row["article_id"]) is None:
            dates[row["article_id"]] = row["date"]
    return dates


def build_page(scored: ScoredRows, highlighter: Highlighter, evidence: int, target_name: str) -> tuple[str, int, int]:
    stances = article_stances(scored)
    dates = article_dates(scored)
    counts = collections.Counter((actor, stance) for (_, actor), stance in stances.items())
    totals = collections.Counter(actor for (_, actor) in stances)
    actors = sorted(totals, key=lambda a: (-totals[a], a))
    strongest = strongest_pairs(scored.pairs, actors, evidence)
    cited = sorted({row["article_id"] for rows in strongest.values() for row in rows})
    anchors = {article: f"article-{i}" for i, article in enumerate(cited, start=1)}
    sections = [
        _header(scored, dates, stances, actors, target_name),
        _actor_chart(actors, counts, stances),
        _time_chart(actors, stances, dates),
        _evidence(actors, strongest, highlighter, anchors, bool(scored.pairs)),
        _article_list(cited, anchors, dates, stances),
    ]
    return PAGE.format(body="\n".join(sections)), len(dates), len(actors)


def strongest_pairs(pairs: list[dict], actors: list[str], k: int) -> dict[str, list[dict]]:
    """Per actor, its k most confident support or oppose pairs (ties: article id, then sentence)."""
    by_actor: dict[str, list[dict]] = {actor: [] for actor in actors}
    for row in pairs:
        if row["stance"] in EVIDENCE_STANCES and row["actor"] in by_actor:
            by_actor[row["actor"]].append(row)
    return {
        actor: sorted(rows, key=lambda r: (-r["confidence"], r["article_id"], r["sentence_index"]))[:k]
        for actor, rows in by_actor.items()
    }


def _header(scored, dates, stances, actors, target_name) -> str:
    files = ", ".join(html.escape(Path(f).name) for f in scored.files[:6])
    more = f" and {len(scored.files) - 6} more" if len(scored.files) > 6 else ""
    return f"""<header>
<h1>Stance toward {html.escape(target_name)}</h1>
<p class="lede">{len(dates)} articles, {len(stances)} (article, actor) pairs of {len(actors)} actors,
{len(scored.pairs)} scored (sentence, actor) pairs. From {len(scored.files)} file(s): {files}{more}.</p>
</header>"""


def shown_stances(stances: dict) -> list[str]:
    """The article stances the charts show: `uncertain` only when some rows have it."""
    uncertain = UNCERTAIN in stances.values()  # one pass over the (article, actor) stances
    return [stance for stance in ARTICLE_STANCES if stance != UNCERTAIN or uncertain]


def _actor_chart(actors, counts, stances) -> str:
    import plotly.graph_objects as go

    if not actors:
        return '<section><h2>Articles per actor</h2><p class="note">No article names an actor.</p></section>'
    figure = go.Figure()
    for stance in shown_stances(stances):
        figure.add_bar(
            name=stance,
            y=actors,
            x=[counts[(actor, stance)] for actor in actors],
            orientation="h",
            marker_color=COLOURS[stance],
            hovertemplate="%{y}: %{x} article(s) " + stance + "<extra></extra>",
        )
    figure.update_layout(
        barmode="stack",
        height=140 + 30 * len(actors),
        margin={"l": 110, "r": 20, "t": 10, "b": 40},
        yaxis={"autorange": "reversed"},
        xaxis={"title": {"text": "articles"}},
        legend={"orientation": "h", "traceorder": "normal", "y": -0.15 if len(actors) > 4 else -0.4},
        template="plotly_white",
    )
    chart = figure.to_html(full_html=False, include_plotlyjs=True, div_id="chart-actors", config=CHART_CONFIG)
    uncertain = (
        ", <em>uncertain</em> when every sentence was below <code>--min-confidence</code>"
        if UNCERTAIN in stances.values()
        else ""
    )
    return f"""<section>
<h2>Articles per actor</h2>
<p class="note">How each article presents the actor: the more frequent of support and oppose among its
sentences, <em>mixed</em> on a tie, <em>neutral</em> with neither{uncertain}.</p>
{chart}
</section>"""


def _time_chart(actors, stances, dates) -> str:
    from plotly.subplots import make_subplots

    dated = {key: stance for key, stance in stances.items() if dates.get(key[0])}
    head = "<section>\n<h2>Over time</h2>\n"
    if not dated:
        return head + (
            '<p class="note" id="no-dates">No dates in these rows, so no chart over time. Score JSONL '
            "articles with a <code>date</code> field (YYYY-MM-DD or YYYY-MM) to get one.</p>\n</section>"
        )
    days = sorted({dates[article] for article, _ in dated})
    # Per month when some date gives only the month, or when days would be too many bars.
    monthly = (
        any(len(day) == 7 for day in days)
        or (datetime.date.fromisoformat(days[-1]) - datetime.date.fromisoformat(days[0])).days > DAILY_SPAN_DAYS
    )
    period = {day: (day[:7] if monthly else day) for day in days}
    counts = collections.Counter((actor, period[dates[article]], stance) for (article, actor), stance in dated.items())
    periods = sorted(set(period.values()))
    shown = [actor for actor in actors if any(a == actor for (_, a) in dated)]
    columns = min(2, len(shown))  # small multiples, two abreast
    rows = -(-len(shown) // columns)
    figure = make_subplots(
        rows=rows,
        cols=columns,
        shared_xaxes=True,
        subplot_titles=shown,
        horizontal_spacing=0.06,
        vertical_spacing=min(0.12, 0.6 / rows),
    )
    names = shown_stances(stances)
    for index, actor in enumerate(shown):
        for stance in names:
            figure.add_bar(
                name=stance,
                legendgroup=stance,
                showlegend=index == 0,
                x=periods,
                y=[counts[(actor, p, stance)] for p in periods],
                marker_color=COLOURS[stance],
                hovertemplate=actor + ", %{x}: %{y} article(s) " + stance + "<extra></extra>",
                row=index // columns + 1,
                col=index % columns + 1,
            )
    figure.update_layout(
        barmode="stack",
        height=110 + 150 * rows,
        margin={"l": 40, "r": 20, "t": 40, "b": 30},
        template="plotly_white",
        legend={"orientation": "h", "traceorder": "normal", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    )
    figure.update_xaxes(type="category")
    chart = figure.to_html(full_html=False, include_plotlyjs=False, div_id="chart-time", config=CHART_CONFIG)
    undated = len({a for a, _ in stances}) - len({a for a, _ in dated})
    missing = f" {undated} article(s) without a date are left out." if undated else ""
    unit = "month" if monthly else "day"
    return (
        head
        + f'<p class="note">Articles per {unit} (those with articles), by how they present each actor.{missing}</p>\n{chart}\n</section>'
    )


def _evidence(actors, strongest, highlighter: Highlighter, anchors, have_pairs: bool) -> str:
    head = "<section>\n<h2>Strongest evidence</h2>\n"
    if not have_pairs:
        return head + (
            '<p class="note">These are summary rows only; the pair rows of <code>stance score --output</code> '
            "carry the sentences.</p>\n</section>"
        )
    parts = [
        head,
        '<p class="note">Per actor, the support and oppose sentences the model is most confident of. '
        '<mark class="actor">The actor</mark> and <mark class="cue">the deciding words</mark> are marked: '
        "the explanation's word features when the rows carry one (<code>stance score --explain</code>), "
        "else the stance cues of the lexicon.</p>",
    ]
    for actor in actors:
        rows = strongest[actor]
        parts.append(f'<h3 id="actor-{html.escape(actor)}">{html.escape(actor)}</h3>')
        if not rows:
            parts.append('<p class="note">No sentence presents it as supporting or opposing.</p>')
            continue
        parts.append('<ol class="evidence">')
        for row in rows:
            sentence = marked_html(row["sentence"], highlighter.spans(row["sentence"], actor, row["explanation"]))
            article = row["article_id"]
            parts.append(
                f'<li><span class="badge {row["stance"]}">{row["stance"]}</span> '
                f'<span class="confidence">{row["confidence"]:.2f}</span> {sentence} '
                f'<a class="source" href="#{anchors[article]}">{html.escape(article)}</a></li>'
            )
        parts.append("</ol>")
    parts.append("</section>")
    return "\n".join(parts)


def _article_list(cited, anchors, dates, stances) -> str:
    if not cited:
        return ""
    by_article = collections.defaultdict(list)
    for (article, actor), stance in sorted(stances.items()):
        by_article[article].append(f'{html.escape(actor)} <span class="stance-{stance}">{stance}</span>')
    items = "\n".join(
        f'<li id="{anchors[a]}"><strong>{html.escape(a)}</strong> {html.escape(dates.get(a) or "no date")}: '
        f"{', '.join(by_article[a])}</li>"
        for a in cited
    )
    return f'<section>\n<h2>Articles cited</h2>\n<ul class="articles">\n{items}\n</ul>\n</section>'


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stance report</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 980px; margin: 2em auto;
  padding: 0 1em; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.5em; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }}
.note, .lede {{ color: #555; }}
mark.actor {{ background: #cfe3ff; font-weight: 600; }}
mark.cue {{ background: #ffe58a; }}
.badge {{ display: inline-block; min-width: 4.5em; text-align: center; border-radius: 3px; color: #fff;
  font-size: .8em; padding: 0 .3em; }}
.badge.support {{ background: #1a9850; }} .badge.oppose {{ background: #d73027; }}
.confidence {{ font-family: ui-monospace, monospace; color: #555; font-size: .9em; }}
ol.evidence li {{ margin-bottom: .5em; }}
a.source {{ font-size: .85em; color: #06c; }}
.stance-support {{ color: #1a9850; }} .stance-oppose {{ color: #d73027; }} .stance-mixed {{ color: #8e6bbf; }}
.stance-neutral {{ color: #777; }} .stance-uncertain {{ color: #9a8a5a; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
