"""Use cases about data: import files, list what the store holds, describe the installation."""

from __future__ import annotations

import weakref
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from formguide.app.common import Progress
from formguide.app.context import Context
from formguide.app.schemas import (
    CompetitionSummary,
    InfoResult,
    IngestRequest,
    IngestResult,
    SeasonSummary,
)
from formguide.core.sport import available_sports, get_sport
from formguide.core.store.db import redact_url, session_scope, table_names
from formguide.core.store.models import Competition, Event, ImportRecord, Season
from formguide.core.views import Column, TableView

__all__ = ["competitions", "info", "ingest"]


def ingest(ctx: Context, request: IngestRequest, progress: Progress | None = None) -> IngestResult:
    """Import source files; each file (or unit) is one transaction, a bad one is rejected whole and recorded."""
    sport = get_sport(request.sport)
    paths = [Path(p) for p in request.paths]
    total = sport.count_ingest_units(paths)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress("ingest", min(1.0, done / total) if total else 0.0)

    report = sport.ingest(ctx.engine, paths, progress=advance)
    data = report.to_dict()
    files = report.files
    for f in files:  # a sport may say what a file was as a "layout: ..." warning
        f.found = f.found or next((w.removeprefix("layout: ") for w in f.warnings if w.startswith("layout: ")), None)
        f.warnings = [w for w in f.warnings if not w.startswith("layout: ")]
    n_warnings = sum(len(f.warnings) for f in files)
    result = IngestResult(sport=sport.name, layout=report.layout, inserted=data["inserted"], updated=data["updated"],
                          unchanged=data["unchanged"], rejected=data["rejected"],
                          files_rejected=data["files_rejected"], new_teams=data["new_teams"], warnings=n_warnings,
                          files=files)
    result.views = [_ingest_view(result)]
    summary = (f"{sport.name}: inserted {result.inserted}, updated {result.updated}, unchanged {result.unchanged}, "
               f"rejected rows {result.rejected}; {result.files_rejected} of {len(files)} files rejected")
    if result.layout:
        summary += f" (found: {result.layout})"
    result.messages.append(summary)
    if n_warnings:
        result.messages.append(f"{n_warnings} warning{'s' if n_warnings > 1 else ''} in "
                               f"{sum(bool(f.warnings) for f in files)} file(s); `--json FILE` lists each with its "
                               "file and row")
    result.messages += [f"rejected {f.error}" for f in files if f.error]
    if result.inserted or result.updated:  # the data changed: online rows follow (app.online)
        from formguide.app.online import refresh_online

        refresh_online(ctx, sport.name, reason="ingest")
    return result


def _ingest_view(result: IngestResult) -> TableView:
    show_found = any(f.found for f in result.files)
    cols = [Column(key="file", align="left", max_width=22)]
    if show_found:
        cols.append(Column(key="found", align="left", priority=1))
    cols += [Column(key="status", align="left"), Column(key="inserted"), Column(key="updated"),
             Column(key="unchanged", header="same"), Column(key="rejected")]
    cols += [Column(key="warnings", priority=1), Column(key="new", header="new teams", priority=2)]
    rows = [{"file": Path(f.path).name, "found": f.found, "status": f.status, "inserted": f.inserted,
             "updated": f.updated, "unchanged": f.unchanged, "rejected": f.rejected, "warnings": len(f.warnings),
             "new": len(f.new_teams)} for f in result.files]
    notes = [] if len(rows) <= 40 else [f"{len(rows)} files; `--json FILE` lists each"]
    return TableView(title=f"ingest {result.sport}", columns=cols, rows=rows if len(rows) <= 40 else [], notes=notes,
                     empty="")


#: competitions() per engine and sport: (the sport's last import id, the summaries). Every ingest records an import,
#: so the id moves whenever events, seasons or results may have changed; asking again is one indexed query instead
#: of aggregating every event of the sport (140 ms for the 19 football leagues of the demo store, on every
#: GET /api/v1/predictions through the league check).
_competitions_kept: weakref.WeakKeyDictionary[Engine, dict[str, tuple[int, list[CompetitionSummary]]]] = \
    weakref.WeakKeyDictionary()


def competitions(ctx: Context, sport_name: str | None = None) -> list[CompetitionSummary]:
    """Every stored competition (of one sport, or all) with its seasons, their dates and event counts."""
    names = [sport_name] if sport_name else sorted(available_sports())
    out: list[CompetitionSummary] = []
    kept_here = _competitions_kept.setdefault(ctx.engine, {})
    with session_scope(ctx.engine) as s:
        for name in names:
            sport = get_sport(name)
            last_import = int(s.scalar(select(func.max(ImportRecord.id)).where(ImportRecord.sport == sport.name)) or 0)
            kept = kept_here.get(sport.name)
            if kept is not None and kept[0] == last_import:
                out.extend(kept[1])
                continue
            mine: list[CompetitionSummary] = []
            comps = s.scalars(select(Competition).where(Competition.sport == sport.name).order_by(Competition.code))
            for comp in comps:
                rows = s.execute(
                    select(Season.code, func.min(Event.kickoff), func.max(Event.kickoff), func.count(Event.id),
                           func.sum(text("CASE WHEN events.status IN ('finished', 'played', 'completed') THEN 1 "
                                         "ELSE 0 END")))
                    .join(Event, Event.season_id == Season.id)
                    .where(Season.competition_id == comp.id).group_by(Season.code)).all()
                seasons = [SeasonSummary(code=c, start=lo, end=hi, events=int(n), played=int(p or 0))
                           for c, lo, hi, n, p in rows]
                mine.append(CompetitionSummary(sport=sport.name, code=comp.code, name=comp.name, seasons=seasons))
            kept_here[sport.name] = (last_import, mine)
            out.extend(mine)
    return out


def competitions_view(items: list[CompetitionSummary]) -> TableView:
    cols = [Column(key="sport", align="left"), Column(key="code", header="league", align="left"),
            Column(key="name", align="left", priority=2, max_width=24), Column(key="seasons"),
            Column(key="first", align="left"), Column(key="last", align="left"), Column(key="events"),
            Column(key="played", priority=1)]
    rows = [{"sport": c.sport, "code": c.code, "name": c.name, "seasons": len(c.seasons),
             "first": c.seasons[0].code if c.seasons else None, "last": c.seasons[-1].code if c.seasons else None,
             "events": sum(x.events for x in c.seasons), "played": sum(x.played for x in c.seasons)} for c in items]
    return TableView(title="competitions in the store", columns=cols, rows=rows,
                     empty="no competitions yet: run `formguide ingest SPORT PATH...`")


def info(ctx: Context) -> InfoResult:
    """Version, resolved settings, the store's schema revision and row counts, the installed sports."""
    from formguide import __version__

    engine = ctx.engine
    revision = None
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        names = set(table_names(engine))
        if "alembic_version" in names:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        for table in ("competitions", "events", "odds", "entries", "laps", "models", "training_runs", "predictions",
                      "fit_cache"):
            if table in names:
                counts[table] = int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() or 0)
    settings = ctx.settings.describe()
    settings["store"] = redact_url(ctx.settings.store_url)
    sports = [get_sport(name).describe() for name in sorted(available_sports())]
    result = InfoResult(version=__version__, settings=settings, schema_revision=revision, sports=sports,
                        counts=counts)
    rows = [{"setting": k, "value": str(v)} for k, v in settings.items()]
    rows += [{"setting": "schema revision", "value": revision}, {"setting": "sports",
             "value": ", ".join(s["name"] for s in sports)}]
    rows += [{"setting": f"rows: {k}", "value": str(v)} for k, v in counts.items()]
    result.views = [TableView(title=f"formguide {__version__}", columns=[
        Column(key="setting", align="left"), Column(key="value", align="left")], rows=rows)]
    return result
