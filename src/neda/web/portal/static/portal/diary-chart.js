/* The diary's charts (plotly.js, served by the site): each <div data-chart="ID"> draws the
 * JSON of <script id="ID"> (Django's json_script). The page's table holds the same values for
 * readers without the chart. No inline script: the page's CSP is script-src 'self'. */
(function () {
  "use strict";
  var COLOURS = ["#1f4e79", "#c2410c", "#7e22ce", "#15803d", "#be185d", "#b58900", "#0e7490"];

  function traces(spec) {
    if (spec.kind === "bars") {
      return spec.series.map(function (s) {
        return { type: "bar", name: s.name, x: s.x, y: s.y, marker: { color: COLOURS[0] },
                 hovertemplate: "week from %{x}<br>%{y} minutes<extra></extra>" };
      });
    }
    if (spec.kind === "doses") {
      return spec.series.map(function (s) {
        var taken = s.name === "taken";
        return { type: "scatter", mode: "markers", name: s.name, x: s.x, y: s.y,
                 marker: { size: 12, symbol: taken ? "circle" : "x",
                           color: taken ? "#15803d" : "#b42318" } };
      });
    }
    return spec.series.filter(function (s) { return s.x.length; }).map(function (s, i) {
      return { type: "scatter", mode: "lines+markers", name: s.name, x: s.x, y: s.y,
               line: { color: COLOURS[i % COLOURS.length], width: 2 }, marker: { size: 6 } };
    });
  }

  function draw(holder, spec) {
    var layout = {
      height: 300, margin: { l: 40, r: 10, t: 10, b: 40 }, hovermode: "closest",
      legend: { orientation: "h", y: -0.2, font: { size: 11 } },
      font: { family: "system-ui, sans-serif", size: 12, color: "#1b1f24" },
      xaxis: { type: "date", gridcolor: "#eef0f3" },
      yaxis: { gridcolor: "#eef0f3", rangemode: "tozero", fixedrange: true }
    };
    if (spec.y_max) { layout.yaxis.range = [-0.3, spec.y_max + 0.3]; }
    if (spec.kind === "doses") { layout.yaxis = { type: "category", fixedrange: true }; }
    if (spec.goal) {
      layout.shapes = [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: spec.goal,
                         y1: spec.goal, line: { color: "#15803d", dash: "dash", width: 2 } }];
      layout.annotations = [{ xref: "paper", x: 0, y: spec.goal, yanchor: "bottom",
                              xanchor: "left", showarrow: false, text: "goal " + spec.goal }];
    }
    holder.textContent = "";
    window.Plotly.newPlot(holder, traces(spec), layout, {
      responsive: true, displaylogo: false, displayModeBar: false
    }).then(function () { holder.setAttribute("data-drawn", "true"); });
  }

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  ready(function () {
    if (!window.Plotly) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (holder) {
      var source = document.getElementById(holder.getAttribute("data-chart"));
      if (source) { draw(holder, JSON.parse(source.textContent)); }
    });
  });
}());
