#!/usr/bin/env python3
"""Draws the benchmark report's chart as a self-contained SVG (no plotting library needed).

    chart.py <in.json> <out.svg>

in.json: {"title": str, "subtitle": str, "panels": [{"title": str, "unit": str,
          "bars": [{"label": str, "value": float, "ours": bool}]}]}
Each panel is a horizontal bar chart (shorter is faster); exalloc's bars are drawn in the accent colour and
every bar carries its value and its ratio to the panel's first exalloc bar.
"""
import json
import sys
from xml.sax.saxutils import escape

W = 980
LABEL_W = 330
BAR_H = 16
GAP = 5
PANEL_PAD = 34
OURS = "#d9480f"
PEER = "#868e96"


def fmt(x):
    return "%.0f" % x if x >= 100 else "%.1f" % x if x >= 10 else "%.2f" % x


def main(src, dst):
    chart = json.load(open(src))
    panels = [p for p in chart["panels"] if p["bars"]]
    out = []
    y = 58
    for p in panels:
        bars = p["bars"]
        vmax = max(b["value"] for b in bars) or 1.0
        base = next((b["value"] for b in bars if b.get("ours")), None)
        out.append('<text x="10" y="%d" class="panel">%s</text>' % (y, escape(p["title"])))
        y += 10
        scale = (W - LABEL_W - 150) / vmax
        for b in bars:
            y += GAP
            w = max(1.0, b["value"] * scale)
            colour = OURS if b.get("ours") else PEER
            out.append('<text x="%d" y="%d" class="label" text-anchor="end">%s</text>'
                       % (LABEL_W - 8, y + BAR_H - 4, escape(b["label"])))
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (LABEL_W, y, w, BAR_H, colour))
            ratio = ""
            if base and not b.get("ours"):
                ratio = "  (%.2fx)" % (b["value"] / base)
            out.append('<text x="%.1f" y="%d" class="value">%s %s%s</text>'
                       % (LABEL_W + w + 6, y + BAR_H - 4, fmt(b["value"]), escape(p["unit"]), ratio))
            y += BAR_H
        y += PANEL_PAD
    h = y
    head = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">' % (W, h, W, h),
            '<style>text{font-family:DejaVu Sans,Arial,sans-serif;fill:#212529}.title{font-size:17px;font-weight:bold}'
            '.sub{font-size:12px;fill:#495057}.panel{font-size:14px;font-weight:bold}.label{font-size:12px}'
            '.value{font-size:11px;fill:#495057}</style>',
            '<rect width="100%" height="100%" fill="white"/>',
            '<text x="10" y="22" class="title">%s</text>' % escape(chart["title"]),
            '<text x="10" y="40" class="sub">%s</text>' % escape(chart.get("subtitle", ""))]
    with open(dst, "w") as f:
        f.write("\n".join(head + out + ["</svg>"]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
