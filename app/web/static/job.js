// The job page's live part: follow the job's server-sent events, extend the chart with
// each progress report, and ask htmx to re-render the progress panel from the server.
(function () {
  "use strict";
  const root = document.getElementById("job");
  const box = document.getElementById("chart");
  const initial = JSON.parse(document.getElementById("job-series").textContent);
  const data = [initial.elapsed_s, initial.lower_bound, initial.domains_open];
  let plot = null;

  function options(width) {
    return {
      width: width, height: 260,
      scales: { x: { time: false } },
      series: [
        { label: "elapsed (s)" },
        { label: "lower bound", stroke: "#1d4f91", width: 2, scale: "bound", spanGaps: true },
        { label: "open domains", stroke: "#a35200", width: 2, scale: "domains" },
      ],
      axes: [
        { label: "elapsed (s)" },
        { scale: "bound", label: "lower bound" },
        { scale: "domains", label: "open domains", side: 1, grid: { show: false } },
      ],
    };
  }

  function draw() {
    box.dataset.points = String(data[0].length);
    if (!data[0].length || typeof uPlot === "undefined") {
      return;
    }
    if (plot === null) {
      const empty = document.getElementById("chart-empty");
      if (empty) {
        empty.remove();
      }
      plot = new uPlot(options(box.clientWidth || 600), data, box);
    } else {
      plot.setData(data);
    }
  }

  function panelChanged() {
    if (window.htmx) {
      window.htmx.trigger(document.body, "job-changed");
    }
  }

  function follow(after) {
    const source = new EventSource(`/jobs/${root.dataset.job}/events?after=${after}`);
    source.addEventListener("progress", function (message) {
      const report = JSON.parse(message.data).data;
      data[0].push(report.elapsed_s || 0);
      data[1].push(report.lower_bound === undefined ? null : report.lower_bound);
      data[2].push(report.domains_open || 0);
      draw();
      panelChanged();
    });
    ["status", "cancel"].forEach(function (type) {
      source.addEventListener(type, panelChanged);
    });
    source.addEventListener("end", function () {
      source.close();
      root.dataset.finished = "true";
      panelChanged();
    });
  }

  window.addEventListener("resize", function () {
    if (plot !== null) {
      plot.setSize({ width: box.clientWidth, height: 260 });
    }
  });
  draw();
  if (root.dataset.finished !== "true") {
    follow(initial.last_event);
  }
})();
