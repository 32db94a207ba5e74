/* The regulators' dashboard: draws each card's figure with plotly.js and opens the lists behind
   a point when it is clicked. The figures come from JSON scripts written by the page
   (json_script); nothing here builds HTML or code from data. */
"use strict";
(function () {
  var CONFIG = {
    responsive: true,
    displaylogo: false,
    // The numbers are in the table under each chart; zoom and export buttons would cover legends.
    displayModeBar: false,
  };

  function draw(holder) {
    var source = document.getElementById(holder.getAttribute("data-figure"));
    if (!source || !window.Plotly) {
      holder.setAttribute("data-drawn", "failed");
      return;
    }
    var figure = JSON.parse(source.textContent);
    var links = figure.links || [];
    window.Plotly.newPlot(holder, figure.data, figure.layout, CONFIG).then(function () {
      holder.setAttribute("data-drawn", "true");
    });
    holder.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      if (!point) {
        return;
      }
      var index = point.pointIndex !== undefined ? point.pointIndex : point.pointNumber;
      var url = (links[point.curveNumber] || [])[index];
      if (url) {
        window.location.assign(url);
      }
    });
    holder.on("plotly_hover", function (event) {
      var point = event && event.points && event.points[0];
      var index = point ? (point.pointIndex !== undefined ? point.pointIndex : point.pointNumber) : -1;
      var url = point ? (links[point.curveNumber] || [])[index] : "";
      holder.classList.toggle("swd-linked", Boolean(url));
    });
    holder.on("plotly_unhover", function () {
      holder.classList.remove("swd-linked");
    });
  }

  function drawAll() {
    var holders = document.querySelectorAll("[data-figure]");
    for (var i = 0; i < holders.length; i++) {
      draw(holders[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
