/* The patient overview's time-axis chart (plotly.js, served by the site itself).
 *
 * It draws what the server computed - the JSON of <script id="chart-data"> written by
 * Django's json_script - and computes no clinical value: every number and label comes from
 * neda.course_summary (docs/rules.md). No inline script: the page's CSP is script-src 'self'.
 */
(function () {
  "use strict";

  var DAY = 86400000;
  var COLOURS = {
    rated: "#1f4e79", computed: "#7b3294", mismatch: "#b42318",
    raw: "#c2410c", pira: "#7e22ce", pirma: "#be185d", unknown: "#6b7280", cdi: "#15803d",
    yes: "#1a7f37", no: "#b42318", unk: "#b58900",
    high: "#1f4e79", moderate_high: "#2f6ea5", moderate: "#3b82b6", other: "#64748b"
  };
  var SEVERITY_SIZE = { no_edss_change: 9, mild: 11, moderate: 15, severe: 19, unknown: 11 };
  var SEVERITY_COLOUR = { no_edss_change: "#64748b", mild: "#d97706", moderate: "#ea580c",
                          severe: "#b42318", unknown: "#6b7280" };
  var RECOVERY = {
    complete: { symbol: "circle", name: "relapse: full remission" },
    incomplete: { symbol: "triangle-up", name: "relapse: residual deficit" },
    not_assessable: { symbol: "circle-open", name: "relapse: recovery not assessable" }
  };

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function fmt(v) { return v === null || v === undefined ? "?" : String(v); }

  function eventLabel(e) {
    if (e.type !== "CDW") { return e.type; }
    if (e.class === "PIRA" && e.pira_mri === "PIRMA") { return "PIRMA"; }
    if (e.class === "RAW" || e.class === "PIRA") { return e.class; }
    return "unknown";
  }

  function edssTraces(d) {
    var traces = [];
    var rated = d.visits.filter(function (v) { return v.edss !== null; });
    traces.push({
      name: "EDSS rated", x: rated.map(function (v) { return v.date; }),
      y: rated.map(function (v) { return v.edss; }), mode: "lines+markers", type: "scatter",
      line: { color: COLOURS.rated, width: 2 }, marker: { size: 6 },
      hovertemplate: "%{x}<br>EDSS %{y} (rated)<extra></extra>", yaxis: "y"
    });
    var computed = d.visits.filter(function (v) { return v.computed !== null; });
    if (computed.length) {
      traces.push({
        name: "EDSS computed from FS", x: computed.map(function (v) { return v.date; }),
        y: computed.map(function (v) { return v.computed; }), mode: "markers", type: "scatter",
        marker: { symbol: "diamond-open", size: 10, color: COLOURS.computed },
        hovertemplate: "%{x}<br>EDSS %{y} (computed from the functional systems)<extra></extra>",
        yaxis: "y"
      });
    }
    var mismatch = d.visits.filter(function (v) { return v.mismatch === true; });
    if (mismatch.length) {
      traces.push({
        name: "rated ≠ computed", x: mismatch.map(function (v) { return v.date; }),
        y: mismatch.map(function (v) { return v.edss; }), mode: "markers", type: "scatter",
        marker: { symbol: "circle-open", size: 18, color: COLOURS.mismatch, line: { width: 2 } },
        text: mismatch.map(function (v) { return v.mismatch_reason; }),
        hovertemplate: "%{x}<br>%{text}<extra>rated ≠ computed</extra>", yaxis: "y"
      });
    }
    return traces;
  }

  function eventTraces(d) {
    var traces = [];
    var groups = {};
    d.events.forEach(function (e) {
      var label = eventLabel(e);
      (groups[label] = groups[label] || []).push(e);
    });
    var links = { x: [], y: [] };
    Object.keys(groups).forEach(function (label) {
      var list = groups[label];
      var colour = COLOURS[label.toLowerCase()] || COLOURS.unknown;
      traces.push({
        name: label === "CDI" ? "confirmed improvement" : "worsening: " + label,
        x: list.map(function (e) { return e.onset; }),
        y: list.map(function (e) { return e.value; }),
        text: list.map(function () { return label; }),
        customdata: list.map(function (e) {
          return [fmt(e.reference), fmt(e.reference_value), fmt(e.confirmation),
                  fmt(e.confirmation_value), e.class || "-"];
        }),
        mode: "markers+text", textposition: "top center", type: "scatter", yaxis: "y",
        textfont: { color: colour, size: 12 },
        marker: { symbol: label === "CDI" ? "triangle-down" : "star", size: 14, color: colour },
        hovertemplate: "%{text} (class %{customdata[4]})<br>onset %{x}, EDSS %{y}" +
          "<br>reference %{customdata[0]} (EDSS %{customdata[1]})" +
          "<br>confirmed %{customdata[2]} (EDSS %{customdata[3]})<extra></extra>"
      });
      list.forEach(function (e) {
        links.x.push(e.reference, e.onset, e.confirmation, null);
        links.y.push(e.reference_value, e.value, e.confirmation_value, null);
      });
    });
    if (links.x.length) {
      traces.push({
        name: "reference and confirmation visits", x: links.x, y: links.y,
        mode: "lines+markers", type: "scatter", yaxis: "y", hoverinfo: "skip",
        line: { color: COLOURS.unknown, dash: "dot", width: 1 },
        marker: { symbol: "line-ns-open", size: 10, color: COLOURS.unknown }
      });
    }
    return traces;
  }

  function relapseTraces(d) {
    var traces = [];
    Object.keys(RECOVERY).forEach(function (key) {
      var list = d.relapses.filter(function (r) {
        return (RECOVERY[r.recovery] ? r.recovery : "not_assessable") === key;
      });
      if (!list.length) { return; }
      traces.push({
        name: RECOVERY[key].name, x: list.map(function (r) { return r.onset_start; }),
        y: list.map(function () { return "relapses"; }), type: "scatter", mode: "markers",
        yaxis: "y2",
        marker: {
          symbol: RECOVERY[key].symbol,
          size: list.map(function (r) { return SEVERITY_SIZE[r.severity] || 11; }),
          color: list.map(function (r) { return SEVERITY_COLOUR[r.severity] || "#6b7280"; }),
          line: { width: 2, color: list.map(function (r) {
            return SEVERITY_COLOUR[r.severity] || "#6b7280"; }) }
        },
        customdata: list.map(function (r) {
          return [r.onset_end, (r.severity || "unknown").replace(/_/g, " "),
                  (r.recovery || "").replace(/_/g, " "), fmt(r.edss_pre), fmt(r.edss_peak),
                  fmt(r.edss_post), (r.recovery_reason || "").replace(/_/g, " ")];
        }),
        hovertemplate: "relapse %{x} to %{customdata[0]}<br>severity %{customdata[1]}" +
          "<br>EDSS before / at / after: %{customdata[3]} / %{customdata[4]} / %{customdata[5]}" +
          "<br>recovery: %{customdata[2]} %{customdata[6]}<extra></extra>"
      });
    });
    var spans = d.relapses.filter(function (r) { return r.onset_end !== r.onset_start; });
    if (spans.length) {
      var x = [], y = [];
      spans.forEach(function (r) { x.push(r.onset_start, r.onset_end, null); y.push("relapses", "relapses", null); });
      traces.push({ name: "imprecise onset (interval)", x: x, y: y, mode: "lines",
                    type: "scatter", yaxis: "y2", hoverinfo: "skip",
                    line: { color: "#6b7280", width: 4 } });
    }
    return traces;
  }

  function mriTraces(d) {
    if (!d.scans.length) { return []; }
    function lane(name, values, hover) {
      return {
        name: name, x: d.scans.map(function (s) { return s.date; }),
        y: d.scans.map(function () { return name; }), type: "scatter", mode: "markers+text",
        yaxis: "y3", showlegend: false,
        text: values.map(function (v) { return v === null ? "?" : String(v); }),
        textposition: "middle center", textfont: { color: "#ffffff", size: 9 },
        marker: { size: 24, symbol: "square",
                  color: values.map(function (v) {
                    return v === null ? "#9ca3af" : (v > 0 ? COLOURS.no : COLOURS.yes); }) },
        customdata: d.scans.map(hover),
        hovertemplate: "scan %{x}<br>%{customdata}<extra></extra>"
      };
    }
    function hover(s) {
      return "new T2 " + fmt(s.new_t2) + ", enlarging T2 " + fmt(s.enlarging_t2) +
        ", Gd-enhancing " + fmt(s.gd) + (s.contrast === false ? " (no contrast)" : "");
    }
    var t2 = d.scans.map(function (s) {
      if (s.new_t2 === null && s.enlarging_t2 === null) { return null; }
      return [s.new_t2, s.enlarging_t2].filter(function (v) { return v !== null; })
        .map(String).join("+");
    });
    var trace = lane("new/enl. T2", t2, hover);
    trace.marker.color = d.scans.map(function (s) {
      if (s.new_t2 === null && s.enlarging_t2 === null) { return "#9ca3af"; }
      return (s.new_t2 || 0) > 0 || (s.enlarging_t2 || 0) > 0 ? COLOURS.no : COLOURS.yes;
    });
    trace.text = t2.map(function (v) { return v === null ? "?" : v; });
    return [trace, lane("Gd+", d.scans.map(function (s) { return s.gd; }), hover)];
  }

  function spanBar(name, lane, axis, list, colour, hover, asOf) {
    return {
      name: name, type: "bar", orientation: "h", yaxis: axis,
      y: list.map(function () { return lane; }),
      base: list.map(function (e) { return e.start; }),
      x: list.map(function (e) {
        return Date.parse(e.end || asOf) - Date.parse(e.start) + (e.end ? 0 : DAY);
      }),
      marker: { color: colour, line: { color: "#ffffff", width: 1 } },
      customdata: list.map(hover), hovertemplate: "%{customdata}<extra></extra>",
      width: 0.6
    };
  }

  function treatmentTraces(d) {
    if (!d.epochs.length) { return []; }
    return d.epochs.map(function (e) {
      return spanBar(e.drug, "DMT", "y4", [e], COLOURS[e.efficacy] || COLOURS.other,
        function (x) {
          return x.drug + (x.efficacy ? " (" + x.efficacy + ")" : "") + "<br>" + x.start +
            " to " + (x.end || "ongoing") + (x.end_reason ? " (" + x.end_reason + ")" : "");
        }, d.as_of);
    }).map(function (t) {
      t.text = [t.name]; t.textposition = "inside"; t.insidetextanchor = "start";
      t.showlegend = false; return t;
    });
  }

  function nedaTraces(d) {
    var out = [];
    [[true, "NEDA-3 yes", COLOURS.yes], [false, "NEDA-3 no", COLOURS.no],
     [null, "NEDA-3 unknown", COLOURS.unk]].forEach(function (g) {
      var list = d.neda_years.filter(function (y) { return y.neda3 === g[0]; });
      if (!list.length) { return; }
      out.push(spanBar(g[1], "NEDA-3", "y5", list, g[2], function (y) {
        return g[1] + " - treatment year " + y.start + " to " + y.end + " (end excluded)" +
          (y.reason ? "<br>" + y.reason : "");
      }, d.as_of));
    });
    return out;
  }

  /* The patient-reported lanes (the portal's diary: neda.web.portal.lane), drawn on top of
   * the course when the page carries them: symptom scores 0-10 (y6), weekly exercise minutes
   * against the goal and DMT doses taken or missed (y7). */
  var SYMPTOM_COLOURS = ["#1f4e79", "#c2410c", "#7e22ce", "#15803d", "#be185d", "#b58900",
                         "#0e7490"];

  function laneTraces(p) {
    var traces = p.symptoms.map(function (s, i) {
      return {
        name: "reported: " + s.label, type: "scatter", mode: "lines+markers", yaxis: "y6",
        x: s.points.map(function (q) { return q[0]; }),
        y: s.points.map(function (q) { return q[1]; }),
        line: { color: SYMPTOM_COLOURS[i % SYMPTOM_COLOURS.length], width: 1 },
        marker: { size: 4 }, legendgroup: "reported", visible: i < 3 ? true : "legendonly",
        hovertemplate: "%{x}<br>" + s.label + ": %{y}/10 (patient-reported)<extra></extra>"
      };
    });
    if (p.exercise.length) {
      traces.push({
        name: "exercise min/week", type: "scatter", mode: "markers+text", yaxis: "y7",
        x: p.exercise.map(function (w) { return w.week; }),
        y: p.exercise.map(function () { return "exercise"; }),
        text: p.exercise.map(function (w) { return String(w.minutes); }),
        textposition: "top center", textfont: { size: 9 }, showlegend: false,
        marker: { symbol: "square", size: 10, color: p.exercise.map(function (w) {
          return w.minutes >= w.goal ? COLOURS.yes : COLOURS.unk; }) },
        customdata: p.exercise.map(function (w) { return w.goal; }),
        hovertemplate: "week from %{x}<br>%{text} of %{customdata} minutes<extra></extra>"
      });
    }
    [[true, "DMT dose taken", "circle", COLOURS.yes],
     [false, "DMT dose missed", "x", COLOURS.no]].forEach(function (g) {
      var list = p.adherence.filter(function (a) { return a.taken === g[0]; });
      if (!list.length) { return; }
      traces.push({
        name: g[1], type: "scatter", mode: "markers", yaxis: "y7",
        x: list.map(function (a) { return a.date; }),
        y: list.map(function () { return "DMT doses"; }),
        marker: { symbol: g[2], size: 8, color: g[3] },
        text: list.map(function (a) { return a.drug; }),
        hovertemplate: "%{x}<br>" + g[1] + " %{text}<extra></extra>"
      });
    });
    return traces;
  }

  function addLanes(layout, p) {
    var squeeze = 0.7;  // the course keeps the lower 70 % of the height
    ["yaxis", "yaxis2", "yaxis3", "yaxis4", "yaxis5"].forEach(function (k) {
      layout[k].domain = [layout[k].domain[0] * squeeze, layout[k].domain[1] * squeeze];
    });
    layout.height = 780;
    layout.yaxis6 = { domain: [0.85, 1], range: [-0.5, 10.5], dtick: 5, fixedrange: true,
                      title: { text: "reported" }, gridcolor: "#eef0f3", zeroline: false };
    layout.yaxis7 = { domain: [0.74, 0.82], type: "category", showgrid: false,
                      fixedrange: true, categoryorder: "array",
                      categoryarray: ["DMT doses", "exercise"] };
  }

  function draw(holder, d, p) {
    var traces = [].concat(nedaTraces(d), treatmentTraces(d), mriTraces(d), relapseTraces(d),
                           edssTraces(d), eventTraces(d), p ? laneTraces(p) : []);
    var dates = [];
    d.visits.forEach(function (v) { dates.push(v.date); });
    d.epochs.forEach(function (e) { dates.push(e.start); });
    d.relapses.forEach(function (r) { dates.push(r.onset_start); });
    d.scans.forEach(function (s) { dates.push(s.date); });
    dates = dates.filter(Boolean).sort();
    function shift(day, days) {
      return new Date(Date.parse(day) + days * DAY).toISOString().slice(0, 10);
    }
    var first = shift(dates[0], -90);
    var last = shift(d.as_of || dates[dates.length - 1], 30);
    var layout = {
      height: 560, margin: { l: 90, r: 20, t: 10, b: 40 }, barmode: "overlay",
      hovermode: "closest", showlegend: true,
      legend: { orientation: "h", y: -0.08, font: { size: 11 } },
      font: { family: "system-ui, sans-serif", size: 12, color: "#1b1f24" },
      xaxis: { type: "date", range: [first, last], showgrid: true, gridcolor: "#eef0f3",
               anchor: "y5" },
      yaxis: { domain: [0.46, 1], range: [-0.2, 10.2], title: { text: "EDSS" },
               dtick: 1, gridcolor: "#eef0f3", zeroline: false },
      yaxis2: { domain: [0.36, 0.43], type: "category", showgrid: false, fixedrange: true },
      yaxis3: { domain: [0.2, 0.33], type: "category", showgrid: false, fixedrange: true,
                categoryorder: "array", categoryarray: ["Gd+", "new/enl. T2"] },
      yaxis4: { domain: [0.09, 0.17], type: "category", showgrid: false, fixedrange: true },
      yaxis5: { domain: [0, 0.06], type: "category", showgrid: false, fixedrange: true },
      shapes: d.as_of ? [{ type: "line", xref: "x", yref: "paper", x0: d.as_of, x1: d.as_of,
                           y0: 0, y1: 1, line: { color: "#9ca3af", dash: "dash", width: 1 } }]
        : []
    };
    if (p) { addLanes(layout, p); }
    holder.textContent = "";
    return window.Plotly.newPlot(holder, traces, layout, {
      responsive: true, displaylogo: false, toImageButtonOptions: { filename: "course" },
      modeBarButtonsToRemove: ["select2d", "lasso2d"]
    }).then(function () { holder.setAttribute("data-drawn", "true"); });
  }

  ready(function () {
    var holder = document.getElementById("course-chart");
    var source = document.getElementById("chart-data");
    if (!holder || !source || !window.Plotly) { return; }
    var data = JSON.parse(source.textContent);
    if (!data || !data.visits) { return; }
    var lane = document.getElementById("portal-lane-data");
    draw(holder, data, lane ? JSON.parse(lane.textContent) : null);
  });
}());
