#!/usr/bin/env python3
"""Draws a Corral dashboard as an SVG from live Prometheus data, without Grafana: panels at their gridPos,
time series as lines, stats as numbers, tables as rows. A preview of layout and data, not Grafana's look.

  render-svg.py --prometheus http://127.0.0.1:9090 --dashboard grafana/dashboards/host-overview.json \\
      --var instance=127.0.0.1:9431 --var 'container=/corral/.+' --range 10m --out host-overview.svg
"""
import argparse, html, json, math, time, urllib.parse, urllib.request

COLORS = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0", "#37872d"]
COL, ROW, PAD = 48, 30, 6  # pixels per grid column and row


def query(base, path, params):
    url = base + path + "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as r:
        body = json.load(r)
    return body["data"]["result"]


def substitute(expr, values):
    for k, v in sorted(values.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace("${" + k + "}", v).replace("$" + k, v)
    return expr


def fmt(value, unit):
    if value is None or math.isnan(value):
        return "No data"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit in ("bytes", "Bps"):
        for suffix in ["B", "KiB", "MiB", "GiB", "TiB"]:
            if abs(value) < 1024:
                return f"{value:.1f} {suffix}" + ("/s" if unit == "Bps" else "")
            value /= 1024
    if unit == "s":
        for size, suffix in [(86400, "d"), (3600, "h"), (60, "min"), (1, "s"), (1e-3, "ms"), (1e-6, "µs")]:
            if abs(value) >= size or size == 1e-6:
                return f"{value / size:.3g} {suffix}"
    return f"{value:.3g}"


def legend(fmt_, labels):
    return "".join(str(labels.get(p.strip("{}").strip(), "")) if p.startswith("{{") else p
                   for p in split_templates(fmt_)).strip() or json.dumps(labels)


def split_templates(s):
    out, i = [], 0
    while i < len(s):
        j = s.find("{{", i)
        if j < 0:
            out.append(s[i:]); break
        out.append(s[i:j]); k = s.find("}}", j)
        out.append(s[j:k + 2]); i = k + 2
    return out


def text(x, y, s, size=12, color="#d8d9da", anchor="start", weight="normal"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{color}" text-anchor="{anchor}" '
            f'font-weight="{weight}" font-family="Inter, Helvetica, Arial, sans-serif">{html.escape(s)}</text>')


def render(args):
    dash = json.load(open(args.dashboard))
    values = dict(v.split("=", 1) for v in args.var)
    values.setdefault("__rate_interval", args.rate_interval)
    end = time.time(); start = end - args.range; step = max(1, args.range // 200)
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels) * ROW + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{24 * COL}" height="{height}">',
           f'<rect width="100%" height="100%" fill="#111217"/>',
           text(PAD, 24, dash["title"], 16, weight="bold")]
    for p in panels:
        g = p["gridPos"]; unit = p["fieldConfig"]["defaults"].get("unit", "short")
        x, y, w, h = g["x"] * COL + PAD, g["y"] * ROW + 40, g["w"] * COL - 2 * PAD, g["h"] * ROW - 2 * PAD
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="3" fill="#181b1f" stroke="#2c3235"/>')
        out.append(text(x + 8, y + 18, p["title"], 13, weight="bold"))
        exprs = [(t["refId"], substitute(t["expr"], values), t.get("legendFormat", "")) for t in p["targets"]]
        if p["type"] == "stat":
            r = query(args.prometheus, "/api/v1/query", {"query": exprs[0][1]})
            v = float(r[0]["value"][1]) if r else p["fieldConfig"]["defaults"].get("noValue")
            v = float(v) if v is not None else None
            out.append(text(x + w / 2, y + h / 2 + 16, fmt(v, unit), 30, "#73bf69", "middle", "bold"))
        elif p["type"] in ("table", "bargauge"):
            out += table(args, p, exprs, unit, x, y, w, h)
        else:
            out += series(args, exprs, unit, x, y, w, h, start, end, step)
    out.append("</svg>")
    open(args.out, "w").write("\n".join(out))


def series(args, exprs, unit, x, y, w, h, start, end, step):
    lines = []
    for ref, expr, lf in exprs:
        for s in query(args.prometheus, "/api/v1/query_range", {"query": expr, "start": start, "end": end,
                                                                 "step": step}):
            pts = [(float(t), float(v)) for t, v in s["values"] if not math.isnan(float(v))]
            if pts:
                lines.append((legend(lf, s["metric"]), pts))
    lines = lines[:8]
    top = max([v for _, pts in lines for _, v in pts] + [1e-9]) * 1.1
    px, py, pw, ph = x + 60, y + 28, w - 70, h - 28 - 20 - 14 * math.ceil(len(lines) / 2)
    out = [text(px - 6, py + 8, fmt(top, unit), 10, "#8e8e8e", "end"), text(px - 6, py + ph, fmt(0, unit), 10,
                                                                             "#8e8e8e", "end"),
           f'<line x1="{px}" y1="{py + ph}" x2="{px + pw}" y2="{py + ph}" stroke="#2c3235"/>']
    for i, (name, pts) in enumerate(lines):
        color = COLORS[i % len(COLORS)]
        d = " ".join(f"{px + (t - start) / (end - start) * pw:.1f},{py + ph - v / top * ph:.1f}" for t, v in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        lx, ly = x + 10 + (i % 2) * (w / 2), py + ph + 18 + (i // 2) * 14
        out.append(f'<rect x="{lx}" y="{ly - 8}" width="10" height="3" fill="{color}"/>')
        out.append(text(lx + 14, ly - 3, name[:int(w / 2 / 6.5)], 10))
    if not lines:
        out.append(text(x + w / 2, y + h / 2, "No data", 14, "#8e8e8e", "middle"))
    return out


def table(args, p, exprs, unit, x, y, w, h):
    rows, cols = {}, []
    rename = {}
    for tr in p.get("transformations", []):
        rename.update(tr.get("options", {}).get("renameByName", {}))
    for ref, expr, lf in exprs:
        col = rename.get(f"Value #{ref}", ref) if p["type"] == "table" else "value"
        cols.append(col)
        for s in query(args.prometheus, "/api/v1/query", {"query": expr}):
            key = tuple((k, v) for k, v in sorted(s["metric"].items()) if k not in ("__name__", "job"))
            rows.setdefault(key, {})[col] = float(s["value"][1])
    overrides = {o["matcher"]["options"]: o["properties"][0]["value"] for o in p["fieldConfig"]["overrides"]}
    out, line = [], y + 40
    label_keys = sorted({k for key in rows for k, _ in key})
    headers = [rename.get(k, k) for k in label_keys] + ([] if p["type"] == "bargauge" else cols)
    cw = w / max(1, len(headers))
    for i, hd in enumerate(headers):
        out.append(text(x + 8 + i * cw, line, hd[:int(cw / 6.5)], 11, "#8ab8ff", weight="bold"))
    for key, vals in list(rows.items())[: int((h - 50) / 16)]:
        line += 16
        labels = dict(key)
        cells = [labels.get(k, "") for k in label_keys]
        if p["type"] == "bargauge":
            v = vals.get("value", float("nan"))
            out.append(text(x + 8, line, " ".join(c for c in cells if c)[:60], 11))
            out.append(text(x + w - 10, line, fmt(v, unit), 11, "#73bf69", "end"))
            continue
        cells += [fmt(vals.get(c, float("nan")), overrides.get(c, unit)).replace("No data", "") for c in cols]
        for i, c in enumerate(cells):
            out.append(text(x + 8 + i * cw, line, str(c)[:int(cw / 6.5)], 11))
    return out


if __name__ == "__main__":
    a = argparse.ArgumentParser()
    a.add_argument("--prometheus", required=True)
    a.add_argument("--dashboard", required=True)
    a.add_argument("--var", action="append", default=[])
    a.add_argument("--range", type=int, default=600, help="seconds back from now")
    a.add_argument("--rate-interval", default="15s")
    a.add_argument("--out", required=True)
    render(a.parse_args())
