// The job page's live part: follow the job's server-sent events, extend the chart with
// each progress report, and ask htmx to re-render the progress panel from the server.
(function () {
  "use strict";
  const root = document.getElementById("job");
  const box = document.getElementById("chart");
  const initial = JSON.parse(document.getElementById("job-series").textContent);
  const training = root.dataset.kind === "train";
  let plot = null;

  // Per kind: the series the chart draws (x first), their axes, and how a progress
  // report extends them (false: the report adds no point).
  const charts = {
    verify: {
      data: [initial.elapsed_s, initial.lower_bound, initial.domains_open],
      series: [
        { label: "elapsed (s)" },
        { label: "best lower bound", stroke: "#1d4f91", width: 2, scale: "bound", spanGaps: true },
        { label: "open domains", stroke: "#a35200", width: 2, scale: "domains" },
      ],
      axes: [
        { label: "elapsed (s)" },
        { scale: "bound", label: "best lower bound" },
        { scale: "domains", label: "open domains", side: 1, grid: { show: false } },
      ],
      extend: function (data, report) {
        const best = data[1].length ? data[1][data[1].length - 1] : null;
        const bound = report.lower_bound === undefined ? null : report.lower_bound;
        // the best bound so far never gets worse (each report bounds the whole property)
        data[0].push(report.elapsed_s || 0);
        data[1].push(best === null || (bound !== null && bound > best) ? bound : best);
        data[2].push(report.domains_open || 0);
        return true;
      },
    },
    train: {
      data: [initial.epoch, initial.loss, initial.train_accuracy, initial.test_clean, initial.test_ibp_verified],
      series: [
        { label: "epoch" },
        { label: "loss", stroke: "#1d4f91", width: 2, scale: "loss" },
        { label: "training accuracy", stroke: "#a35200", width: 2, scale: "accuracy", spanGaps: true },
        { label: "test accuracy", stroke: "#1e6b34", width: 2, scale: "accuracy", spanGaps: true },
        { label: "test IBP-verified", stroke: "#6b2fa3", width: 2, dash: [6, 4], scale: "accuracy", spanGaps: true },
      ],
      axes: [
        { label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] },  // whole epochs only
        { scale: "loss", label: "loss" },
        { scale: "accuracy", label: "accuracy", side: 1, grid: { show: false } },
      ],
      extend: function (data, report) {
        if (report.phase !== "epoch") {
          return false;
        }
        ["epoch", "loss", "train_accuracy", "test_clean", "test_ibp_verified"].forEach(function (name, k) {
          data[k].push(report[name] === undefined ? null : report[name]);
        });
        return true;
      },
    },
  };
  const chart = training ? charts.train : charts.verify;
  const data = chart.data;

  function options(width) {
    const scales = training ? { x: { time: false }, accuracy: { range: [0, 1] } } : { x: { time: false } };
    return { width: width, height: 260, scales: scales, series: chart.series, axes: chart.axes };
  }

  function draw() {
    if (box === null) {
      return;
    }
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
      if (chart.extend(data, JSON.parse(message.data).data)) {
        draw();
      }
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
