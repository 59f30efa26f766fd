// Charts drawn with Observable Plot (SVG). Every mark carries the figure it draws in data-
// attributes (data-key, data-series, data-value, data-complete), so the numbers on screen can be
// checked against the API; incomplete periods are drawn with a dashed outline and a lighter fill,
// and months not yet published with a dashed placeholder (data-unavailable).

const DASH = "5 3";
const INCOMPLETE_OPACITY = 0.3;
const INK = "#1f2933";
const MUTED = "#5f6b7a";

function plot() {
  return window.Plot;
}

/** Axis ticks as 0, 500, 1k, 2.5k, 1M. */
function siFormat(value) {
  return value === 0 ? "0" : window.d3.format("~s")(value);
}

/** A Plot render transform that writes each drawn row's figure onto its SVG element. */
function annotated(rows, describe, selector) {
  return (index, scales, values, dimensions, context, next) => {
    const group = next(index, scales, values, dimensions, context);
    const elements = group.querySelectorAll(selector);
    Array.from(index).forEach((i, k) => {
      const element = elements[k];
      if (!element) return;
      for (const [name, value] of Object.entries(describe(rows[i]))) {
        element.setAttribute(`data-${name}`, String(value));
      }
    });
    return group;
  };
}

/**
 * Plot's own <style> element goes before the SVG enters the page: its rules are in app.css, and
 * a page under `style-src 'self'` may not add inline styles.
 */
function finish(svg, description) {
  svg.querySelectorAll("style").forEach((element) => element.remove());
  svg.classList.add("chart-svg");
  svg.setAttribute("role", "img");
  if (description) svg.setAttribute("aria-label", description);
  return svg;
}

/** Stack each key's rows in series order: y1 and y2 for every row. */
function stacked(rows, { keyOf, seriesOf, valueOf, seriesOrder }) {
  const rank = new Map(seriesOrder.map((series, k) => [series, k]));
  const ordered = [...rows].sort((a, b) => (rank.get(seriesOf(a)) ?? 99) - (rank.get(seriesOf(b)) ?? 99));
  const tops = new Map();
  return ordered.map((row) => {
    const key = keyOf(row);
    const y1 = tops.get(key) ?? 0;
    const y2 = y1 + (valueOf(row) ?? 0);
    tops.set(key, y2);
    return { row, key, series: seriesOf(row), value: valueOf(row), y1, y2 };
  });
}

function colorScale(colors) {
  return { domain: Object.keys(colors), range: Object.values(colors), type: "ordinal" };
}

/**
 * Stacked vertical bars over an ordinal x (fiscal years or months). `unavailable` keys (months not
 * yet published) get a dashed, labelled placeholder; rows with complete === false a dashed bar.
 */
export function stackedBars({
  rows, keys, keyOf, seriesOf, valueOf, completeOf, colors, width, height,
  tickFormat, yLabel, describe, unavailable = [], unavailableLabel = "not yet published",
  incompleteLabel = "partial", description,
}) {
  const Plot = plot();
  const stack = stacked(rows, { keyOf, seriesOf, valueOf, seriesOrder: Object.keys(colors) });
  const complete = stack.filter((s) => completeOf(s.row) !== false);
  const partial = stack.filter((s) => completeOf(s.row) === false);
  const tops = new Map();
  for (const s of partial) tops.set(s.key, Math.max(tops.get(s.key) ?? 0, s.y2));
  const mark = (s) => ({ key: s.key, series: s.series, value: s.value, complete: completeOf(s.row) !== false });
  const title = (s) => describe(s.row);
  const marks = [
    Plot.ruleY([0], { stroke: MUTED }),
    Plot.rectY(complete, {
      x: "key", y1: "y1", y2: "y2", fill: "series", title, ariaLabel: title, inset: 0.5,
      render: annotated(complete, mark, "rect"),
    }),
    Plot.rectY(partial, {
      x: "key", y1: "y1", y2: "y2", fill: "series", stroke: "series", fillOpacity: INCOMPLETE_OPACITY,
      strokeDasharray: DASH, strokeWidth: 1.5, title, ariaLabel: title, inset: 1,
      render: annotated(partial, mark, "rect"),
    }),
    Plot.text([...tops], {
      x: ([key]) => key, y: ([, top]) => top, text: () => incompleteLabel, dy: -8, fill: INK,
      fontSize: 11, fontWeight: "bold", ariaHidden: true,
    }),
  ];
  if (unavailable.length) {
    marks.unshift(
      Plot.cell(unavailable, {
        x: (key) => key, fill: "#f3f4f6", stroke: MUTED, strokeDasharray: DASH, inset: 1,
        title: () => unavailableLabel, ariaLabel: (key) => `${key}: ${unavailableLabel}`,
        render: annotated(unavailable, (key) => ({ unavailable: key }), "rect"),
      }),
      Plot.text([unavailable[Math.floor((unavailable.length - 1) / 2)]], {
        x: (key) => key, frameAnchor: "middle", text: () => unavailableLabel, fill: INK, fontSize: 12,
        stroke: "white", strokeWidth: 5, paintOrder: "stroke", ariaHidden: true,
      }),
    );
  }
  const svg = Plot.plot({
    width, height, marginLeft: 56, marginTop: 24, marginBottom: 40,
    x: { domain: keys, label: null, tickFormat, padding: 0.15 },
    y: { label: yLabel, grid: true, tickFormat: siFormat, nice: true },
    color: colorScale(colors),
    marks,
  });
  return finish(svg, description);
}

/** Horizontal bars, one per row, coloured by series (areas of responsibility by component). */
export function horizontalBars({ rows, keyOf, labelOf, seriesOf, valueOf, colors, width, describe,
  xLabel, description, valueText }) {
  const Plot = plot();
  const order = rows.map(keyOf);
  const labels = new Map(rows.map((row) => [keyOf(row), labelOf(row)]));
  const narrow = width < 520;
  const marginLeft = narrow ? 132 : 180;
  const svg = Plot.plot({
    width, height: 34 + rows.length * 28 + 30, marginLeft, marginRight: 64, marginTop: 8,
    x: { label: xLabel, grid: true, tickFormat: siFormat, nice: true },
    y: { domain: order, label: null, tickFormat: (key) => labels.get(key), padding: 0.2 },
    color: colorScale(colors),
    marks: [
      Plot.ruleX([0], { stroke: MUTED }),
      Plot.barX(rows, {
        y: keyOf, x: valueOf, fill: seriesOf, title: describe, ariaLabel: describe,
        render: annotated(rows, (row) => ({ key: keyOf(row), series: seriesOf(row), value: valueOf(row), complete: true }), "rect"),
      }),
      Plot.text(rows, { y: keyOf, x: valueOf, text: valueText, dx: 4, textAnchor: "start", fill: INK, ariaHidden: true }),
    ],
  });
  return finish(svg, description);
}

/** Grouped horizontal bars: for each group, one bar per measure (shares from 0 to 100 %). */
export function groupedShares({ rows, groups, groupLabel, measures, colors, width, describe, description }) {
  const Plot = plot();
  const marks = rows.filter((mark) => mark.value !== null && mark.value !== undefined);
  const missing = rows.filter((mark) => mark.value === null || mark.value === undefined);
  const svg = Plot.plot({
    width, height: 70 + groups.length * 90, marginLeft: 92, marginRight: 56, marginTop: 8,
    x: { domain: [0, 1], label: "Share of the Southwest Border total", tickFormat: "%", grid: true },
    y: { domain: measures, label: null, axis: null, padding: 0.15 },
    fy: { domain: groups, label: null, padding: 0.2, tickFormat: groupLabel },
    color: colorScale(colors),
    marks: [
      Plot.ruleX([0], { stroke: MUTED }),
      Plot.barX(marks, {
        fy: "group", y: "measure", x: "value", fill: "measure", title: describe, ariaLabel: describe,
        render: annotated(marks, (mark) => ({ key: mark.group, series: mark.measure, value: mark.value, complete: true }), "rect"),
      }),
      Plot.text(marks, {
        fy: "group", y: "measure", x: "value", text: (mark) => `${(mark.value * 100).toFixed(1)} %`,
        dx: 4, textAnchor: "start", fill: INK, ariaHidden: true,
      }),
      Plot.text(missing, {
        fy: "group", y: "measure", x: () => 0, text: () => "no data for this period", dx: 4, textAnchor: "start",
        fill: MUTED, ariaLabel: describe,
      }),
    ],
  });
  return finish(svg, description);
}

/** Lines with a dot per row; rows with complete === false get a hollow dot and a dashed line. */
export function linesWithDots({ rows, xOf, seriesOf, valueOf, completeOf, colors, width, height,
  describe, yLabel, description }) {
  const Plot = plot();
  const series = Object.keys(colors);
  const solid = rows.filter((row) => completeOf(row) !== false);
  const dashed = [];
  for (const name of series) {
    const own = rows.filter((row) => seriesOf(row) === name).sort((a, b) => xOf(a) - xOf(b));
    const first = own.findIndex((row) => completeOf(row) === false);
    if (first >= 0) dashed.push(...own.slice(Math.max(0, first - 1)));
  }
  const mark = (row) => ({ key: xOf(row), series: seriesOf(row), value: valueOf(row), complete: completeOf(row) !== false });
  const svg = Plot.plot({
    width, height, marginLeft: 56, marginTop: 16, marginBottom: 36,
    x: { label: null, tickFormat: "d", ticks: width < 520 ? 5 : 10 },
    y: { label: yLabel, grid: true, tickFormat: siFormat, nice: true, zero: true },
    color: colorScale(colors),
    marks: [
      Plot.ruleY([0], { stroke: MUTED }),
      Plot.lineY(solid, { x: xOf, y: valueOf, stroke: seriesOf, strokeWidth: 2, ariaHidden: true }),
      Plot.lineY(dashed, { x: xOf, y: valueOf, stroke: seriesOf, strokeWidth: 2, strokeDasharray: DASH, ariaHidden: true }),
      Plot.dot(rows, {
        x: xOf, y: valueOf, stroke: seriesOf, r: 3.5, strokeWidth: 1.5,
        fill: (row) => (completeOf(row) === false ? "white" : seriesOf(row)),
        title: describe, ariaLabel: describe,
        render: annotated(rows, mark, "circle"),
      }),
    ],
  });
  return finish(svg, description);
}

/** A legend as an HTML list: a square swatch (SVG, no inline style) and a label per series. */
export function legend(entries) {
  const list = document.createElement("ul");
  list.className = "legend";
  for (const { label, color, dashed } of entries) {
    const item = document.createElement("li");
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("width", "14");
    svg.setAttribute("height", "14");
    svg.setAttribute("aria-hidden", "true");
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    rect.setAttribute("x", "1");
    rect.setAttribute("y", "1");
    rect.setAttribute("width", "12");
    rect.setAttribute("height", "12");
    rect.setAttribute("fill", color);
    if (dashed) {
      rect.setAttribute("fill-opacity", String(INCOMPLETE_OPACITY));
      rect.setAttribute("stroke", color);
      rect.setAttribute("stroke-dasharray", "3 2");
    }
    svg.append(rect);
    item.append(svg, document.createTextNode(label));
    list.append(item);
  }
  return list;
}
