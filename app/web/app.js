// The dashboard: reads the public JSON endpoints (same origin), draws the charts and the claims,
// and keeps the drug and fiscal year in the page's URL. When every chart of a selection is drawn,
// <html data-ready="drug:fiscal_year"> is set and the performance mark "dashboard-ready" is made.

import { ApiError, csvRequest, fiscalYearOf, getJson } from "./api.js";
import { renderClaims } from "./claims.js";
import { PANELS } from "./panels.js";

const state = { drug: null, fiscalYear: null };
const answers = new Map(); // panel id -> {url, doc, error}
let generation = 0;
let drugNames = new Map();
let firstRender = true;

const $ = (selector, root = document) => root.querySelector(selector);

function element(tag, { className, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function announce(text) {
  $("#status").textContent = text;
}

const context = {
  drugName: (slug) => drugNames.get(slug) ?? slug,
  get chartHeight() {
    return window.innerWidth < 600 ? 240 : 300;
  },
};

/** The most frequent value of a primary filter among the claims (the article's drug and year). */
function claimsDefault(claims, name) {
  const counts = new Map();
  for (const claim of claims) {
    const value = claim.primary?.filters?.[name];
    if (value) counts.set(String(value), (counts.get(String(value)) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

/** Fiscal years the seizure releases cover, from GET /datasets. */
function seizureFiscalYears(datasets) {
  const seizures = datasets.data.find((d) => d.name === "seizures");
  const years = new Set();
  for (const source of seizures?.sources ?? []) {
    if (!source.coverage?.first_month) continue;
    for (let fy = fiscalYearOf(source.coverage.first_month); fy <= fiscalYearOf(source.coverage.last_month); fy += 1) {
      years.add(fy);
    }
  }
  return [...years].sort((a, b) => b - a);
}

function fillSelect(select, options, selected) {
  select.replaceChildren(...options.map(({ value, label }) => {
    const option = element("option", { text: label, attrs: { value: String(value) } });
    option.selected = String(value) === String(selected);
    return option;
  }));
}

function readLocation(drugs, years, defaults) {
  const params = new URLSearchParams(window.location.search);
  const drug = params.get("drug");
  const fy = Number(params.get("fiscal_year"));
  state.drug = drugs.includes(drug) ? drug : defaults.drug;
  state.fiscalYear = years.includes(fy) ? fy : defaults.fiscalYear;
}

function writeLocation() {
  const params = new URLSearchParams({ drug: state.drug, fiscal_year: String(state.fiscalYear) });
  window.history.replaceState(null, "", `${window.location.pathname}?${params}`);
}

function table(panel, rows) {
  const head = element("tr", {}, ...panel.columns.map((c) => element("th", { text: c.label, attrs: { scope: "col" } })));
  const body = rows.map((row) => element("tr", {}, ...panel.columns.map((column) => {
    const text = column.value(row);
    const cell = element("td", { className: column.numeric ? "num" : "" });
    const href = column.link?.(row);
    cell.append(href ? element("a", { text, attrs: { href } }) : text);
    return cell;
  })));
  return element("table", {}, element("thead", {}, head), element("tbody", {}, ...body));
}

function sources(url, doc) {
  const csv = element("a", { text: "CSV of this chart", attrs: { href: csvRequest(url), download: "", "data-role": "csv" } });
  const json = element("a", { text: "the JSON request", attrs: { href: url, "data-role": "json" } });
  const list = element("dl", { className: "sources" },
    element("dt", { text: "Data" }), element("dd", {}, csv, document.createTextNode(" · "), json));
  const releases = doc?.meta?.releases ?? [];
  list.append(element("dt", { text: "Releases" }), element("dd", {}, releases.length
    ? element("ul", { attrs: { "data-role": "releases" } }, ...releases.map((r) => element("li", {},
      document.createTextNode(`${r.title}: ${r.file_name} (${r.period_start} to ${r.period_end}), loaded ${String(r.loaded_at).slice(0, 10)}. `),
      ...(r.origin_url ? [element("a", { text: "Publisher's page", attrs: { href: r.origin_url, rel: "external noopener" } })] : []))))
    : element("span", { text: "none: no release holds figures for this selection" })));
  const caveats = doc?.meta?.caveats ?? [];
  if (caveats.length) {
    list.append(element("dt", { text: "Caveats" }),
      element("dd", {}, element("ul", { attrs: { "data-role": "caveats" } }, ...caveats.map((c) => element("li", { text: c })))));
  }
  return list;
}

function draw(panel) {
  const section = document.getElementById(panel.id);
  const answer = answers.get(panel.id);
  const chart = $("[data-role=chart]", section);
  $("[data-role=subtitle]", section).textContent = panel.subtitle(state, context);
  if (answer.error) {
    chart.replaceChildren(element("p", { className: "empty", text: `This chart could not be drawn: ${answer.error.message}` }));
    $("[data-role=legend]", section).replaceChildren();
    $("[data-role=table]", section).replaceChildren();
    $("[data-role=sources]", section).replaceChildren(sources(answer.url, null));
    return;
  }
  const { doc, url } = answer;
  if (doc.data.length === 0) {
    const coverage = doc.meta.coverage?.first_month
      ? ` The releases behind this chart cover ${doc.meta.coverage.first_month} to ${doc.meta.coverage.last_month}.` : "";
    chart.replaceChildren(element("p", { className: "empty", text: `No published figures for this selection.${coverage}` }));
    $("[data-role=legend]", section).replaceChildren();
  } else {
    const width = Math.max(280, Math.floor(chart.clientWidth || section.clientWidth));
    const drawn = panel.draw(doc, state, context, width);
    chart.replaceChildren(drawn.svg);
    $("[data-role=legend]", section).replaceChildren(drawn.legend);
  }
  $("[data-role=table]", section).replaceChildren(table(panel, doc.data));
  $("[data-role=sources]", section).replaceChildren(sources(url, doc));
  section.dataset.request = url;
}

async function load() {
  const mine = ++generation;
  document.documentElement.removeAttribute("data-ready");
  announce(`Loading ${context.drugName(state.drug)}, fiscal year ${state.fiscalYear}…`);
  const results = await Promise.all(PANELS.map(async (panel) => {
    const url = panel.url(state);
    try {
      return { panel, url, doc: await getJson(url) };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return { panel, url, error };
    }
  }));
  if (mine !== generation) return; // a newer selection is on its way
  if (firstRender) performance.mark("dashboard-figures");
  for (const { panel, url, doc, error } of results) {
    answers.set(panel.id, { url, doc, error });
    draw(panel);
  }
  const failed = results.filter((r) => r.error).length;
  announce(`Showing ${context.drugName(state.drug)}, fiscal year ${state.fiscalYear}.`
    + (failed ? ` ${failed} chart(s) could not be drawn.` : ""));
  document.documentElement.dataset.ready = `${state.drug}:${state.fiscalYear}`;
  if (firstRender) {
    firstRender = false;
    performance.mark("dashboard-ready");
  }
}

function redrawAll() {
  for (const panel of PANELS) if (answers.has(panel.id)) draw(panel);
}

// The module runs as soon as it arrives (async) to start its requests early; the page and the
// deferred chart libraries are there once DOMContentLoaded has fired.
const documentReady = new Promise((resolve) => {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", resolve, { once: true });
  else resolve();
});

async function main() {
  const catalogs = Promise.all([getJson("/claims"), getJson("/drugs"), getJson("/datasets")]);
  const [[claims, drugs, datasets]] = await Promise.all([catalogs, documentReady]);
  performance.mark("dashboard-catalogs");
  drugNames = new Map(drugs.data.map((d) => [d.slug, d.name]));
  const years = seizureFiscalYears(datasets);
  const defaults = {
    drug: drugNames.has(claimsDefault(claims.data, "drug")) ? claimsDefault(claims.data, "drug") : drugs.data[0]?.slug,
    fiscalYear: years.includes(Number(claimsDefault(claims.data, "fiscal_year")))
      ? Number(claimsDefault(claims.data, "fiscal_year")) : years[0],
  };
  readLocation([...drugNames.keys()], years, defaults);
  const drugSelect = $("#drug");
  const yearSelect = $("#fiscal-year");
  fillSelect(drugSelect, drugs.data.map((d) => ({ value: d.slug, label: d.name })), state.drug);
  fillSelect(yearSelect, years.map((fy) => ({ value: fy, label: `FY${fy} (Oct ${fy - 1} – Sep ${fy})` })), state.fiscalYear);
  drugSelect.disabled = false;
  yearSelect.disabled = false;
  drugSelect.addEventListener("change", () => {
    state.drug = drugSelect.value;
    writeLocation();
    load();
  });
  yearSelect.addEventListener("change", () => {
    state.fiscalYear = Number(yearSelect.value);
    writeLocation();
    load();
  });
  let lastWidth = window.innerWidth;
  let pending = null;
  window.addEventListener("resize", () => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(pending);
    pending = setTimeout(redrawAll, 150);
  });
  const charts = load(); // the charts' requests go out first; the claims are drawn meanwhile
  const article = renderClaims($("#claims-list"), claims);
  if (article) $("#claims-source").textContent = `${article.publication}, ${article.date}: ${article.topic}.`;
  await charts;
}

main().catch(async (error) => {
  await documentReady;
  announce(`The dashboard could not load its data: ${error.message}`);
  document.documentElement.dataset.ready = "error";
});
