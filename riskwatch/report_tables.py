"""Tables as a person writes them, for the report and the dashboard: no index or index-name rows,
scores to 3 decimals, shares as percentages, times as dates. Frames and values in, frames of text
(or HTML) out; nothing here reads files."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

DASH = "—"
PSI_BAND_SHORT = {"no significant change": "low", "moderate change": "moderate",
                  "significant change": "high"}


def number(value: Any, decimals: int = 3) -> str:
    """A score or statistic to ``decimals`` places (thousands separated); a dash when missing."""
    if value is None or value != value:
        return DASH
    return f"{float(value):,.{decimals}f}"


def stat(value: Any) -> str:
    """A summary statistic: at most 3 decimals, no trailing zeros (``3,393.6``, ``237``)."""
    text = number(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(share: Any, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage: ``0.402649`` → ``40.3 %``."""
    if share is None or share != share:
        return DASH
    return f"{100 * float(share):.{decimals}f} %"


def when(iso: Any) -> str:
    """An ISO time as a date and minute in UTC: ``2026-11-28 23:36``."""
    if not iso or iso != iso:
        return DASH
    stamp = pd.Timestamp(iso)
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp
    return stamp.strftime("%Y-%m-%d %H:%M")


def html(frame: pd.DataFrame, css: str = "rw-table") -> str:
    """The table as HTML without its index (so no index-name header row)."""
    if frame is None or frame.empty:
        return ""
    return frame.to_html(index=False, escape=True, border=0, classes=f"dataframe {css}")


def models_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Versions with their role and test scores (``version, role, metrics`` dicts)."""
    return pd.DataFrame([{"model": f"v{r['version']}", "role": r["role"], "F1": number(r["metrics"].get("f1")),
                          "precision": number(r["metrics"].get("precision")),
                          "recall": number(r["metrics"].get("recall")),
                          "ROC AUC": number(r["metrics"].get("roc_auc")),
                          "test clients": f"{r['metrics'].get('n', 0):,}"} for r in rows])


def events_table(events: pd.DataFrame, limit: int = 8) -> pd.DataFrame:
    """Deployments, rejections and rollbacks, newest first."""
    if events.empty:
        return pd.DataFrame()
    return pd.DataFrame([{"date": when(e["at"]), "action": e["action"],
                          "model": f"v{int(e['version'])}" if e["version"] == e["version"] and e["version"] is not None
                          else DASH,
                          "test F1": number(e["f1"]), "reason": e["reason"]}
                         for _, e in events.head(limit).iterrows()])


def drift_table(drift: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per feature: method, distance, threshold, noise bound, PSI and the verdict."""
    if not drift:
        return pd.DataFrame()
    return pd.DataFrame([{"feature": f["feature"], "method": f["method"],
                          "effect size": number(f.get("effect_size")), "threshold": number(f.get("threshold")),
                          "noise bound": number(f.get("noise_bound")), "p-value": number(f.get("p_value")),
                          "PSI": f"{number(f.get('psi'))} ({PSI_BAND_SHORT.get(f.get('psi_band'), f.get('psi_band'))})",
                          "verdict": "DRIFT" if f["drifted"] else "no drift"} for f in drift["features"]])


def top_clients_table(clients: pd.DataFrame, id_column: str, top: int) -> pd.DataFrame:
    """The ``top`` clients most at risk: rank, client, attrition risk as %, band."""
    head = clients.head(top)
    return pd.DataFrame({"#": range(1, len(head) + 1), "client": head[id_column].astype(str).to_numpy(),
                         "attrition risk": [percent(p) for p in head["probability"]],
                         "band": head["risk_band"].to_numpy()})


def band_counts_table(counts: Mapping[str, int], total: int) -> pd.DataFrame:
    """Clients per band (highest first as given) with their share."""
    return pd.DataFrame([{"band": band, "clients": f"{n:,}", "share": percent(n / total if total else None)}
                         for band, n in counts.items()])


def estimates_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """F1 estimated when clients were scored, beside the realised F1 once outcomes arrived."""
    def interval(r: Mapping[str, Any]) -> str:
        return f" ({r['interval'][0]:.3f}–{r['interval'][1]:.3f})" if r.get("interval") else ""

    return pd.DataFrame([{"scored": when(r.get("at")), "run": r["run_id"], "model": f"v{r['version']}",
                          "clients": f"{r['n']:,}" if r.get("n") is not None else DASH,
                          "estimated F1": number(r["estimated_f1"]) + interval(r),
                          "realised F1": number(r["realised_f1"]) if r["realised_f1"] is not None
                          else "outcomes not in yet"} for r in rows])


def missing_table(missing: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Missing values per column: count and share of the rows."""
    return pd.DataFrame([{"column": column, "missing": f"{v['count']:,}", "share": f"{v['percent']:.1f} %"}
                         for column, v in missing.items()])


def statistics_table(stats: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Summary statistics per numeric feature, at most 3 decimals."""
    keys = ("count", "mean", "std", "min", "q1", "median", "q3", "max")
    return pd.DataFrame([{"feature": feature, **{k: stat(v.get(k)) for k in keys}} for feature, v in stats.items()])


def quarantine_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """What a run put in the quarantine folder: file, what happened, why, the copy's name."""
    from pathlib import Path

    return pd.DataFrame([{"file": r["name"],
                          "what": "file refused" if r["scope"] == "file" else f"{r['n_rows']} bad row(s) set aside",
                          "reason": r["reason"], "kept as": Path(r["path"]).name if r.get("path") else DASH}
                         for r in rows])


def timings_table(stages: Sequence[Mapping[str, Any]], running: str | None = None) -> pd.DataFrame:
    """Seconds per stage of this run, from the ledger rows the console line is printed from
    (rounded as the console rounds: one decimal); ``running`` names the stage still at work."""
    rows = [{"stage": s["stage"], "seconds": f"{s['seconds']:.1f}" if s.get("seconds") is not None else DASH,
             "outcome": s.get("outcome") or DASH} for s in stages]
    if running and running not in {s['stage'] for s in stages}:
        rows.append({"stage": running, "seconds": "(this report)", "outcome": "running"})
    return pd.DataFrame(rows)


def dependencies_line(dependencies: Sequence[Mapping[str, Any]]) -> str:
    """The installed version of each declared dependency in one line, and what the index said."""
    if not dependencies:
        return "No dependency check recorded."
    installed = " · ".join(f"{d['package']} {d.get('installed') or 'not installed'}" for d in dependencies)
    newer = [f"{d['package']} {d['latest']}" for d in dependencies if d.get("note") == "newer version available"]
    offline = all(d.get("latest") is None for d in dependencies)
    note = ("latest versions unknown (the package index was not reachable)" if offline
            else ("newer: " + ", ".join(newer)) if newer else "all up to date")
    return f"{installed}. {note[:1].upper()}{note[1:]}."
