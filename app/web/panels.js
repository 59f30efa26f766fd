// The dashboard's charts: for each, the public request it shows, how it is drawn, and its table.
// A panel's figures are exactly the rows of its request (the CSV link is the same request).

import {
  fiscalYearMonths, formatInteger, formatPounds, formatShare, monthLabel, request,
} from "./api.js";
import { groupedShares, horizontalBars, legend, linesWithDots, stackedBars } from "./charts.js";

export const COMPONENT_COLORS = { OFO: "#1f5fa6", USBP: "#b34d00" };
const COMPONENT_NAMES = { OFO: "Ports of entry (OFO)", USBP: "Border Patrol (USBP)" };
const SECTOR_PALETTE = ["#1f5fa6", "#b34d00", "#2e7d32", "#a4262c", "#6a3d9a", "#7a5c00", "#00707f", "#a3306f", "#4a4a4a", "#36558f"];
const SHARE_COLORS = { seizure_share: "#1f5fa6", encounter_share: "#b34d00" };
const SHARE_NAMES = { seizure_share: "Share of seizures (pounds)", encounter_share: "Share of encounters" };
// Every drug overdose death, and those involving synthetic opioids (primarily fentanyl).
const DEATH_COLORS = { total: "#1f2933", "synthetic-opioids": "#b3261e" };
// The article's comparison: California and Arizona against New Mexico and Texas.
const ARTICLE_GROUPS = "CA,AZ;NM,TX";
const ROWS = 1000;

const yearsRange = (fy) => `October ${fy - 1} – September ${fy}`;
const groupName = (group) => group.split(",").join(" + ");

/** Months of fiscal year `fy` outside the months the answer's releases cover. */
function unpublishedMonths(fy, meta) {
  const coverage = meta.coverage;
  if (!coverage?.first_month) return fiscalYearMonths(fy);
  return fiscalYearMonths(fy).filter((m) => m < coverage.first_month || m > coverage.last_month);
}

/** Month ticks: "Oct 2020", "Nov", … ; on a narrow chart only the first month of each quarter. */
function monthTicks(width) {
  return (month) => {
    const [year, number] = month.split("-");
    if (width < 520 && !["10", "01", "04", "07"].includes(number)) return "";
    const name = monthLabel(month, { short: true });
    return number === "10" || number === "01" ? `${name}\n${year}` : name;
  };
}

const seizureYears = {
  id: "seizure-years",
  url: (s) => request("/seizures", { drug: s.drug, region: "southwest", group_by: "component,fiscal_year", limit: ROWS }),
  subtitle: (s, ctx) => `${ctx.drugName(s.drug)} seized at the Southwest Border, pounds per federal fiscal year, `
    + "at the ports of entry (OFO) and between them (Border Patrol, USBP).",
  draw(doc, s, ctx, width) {
    const rows = doc.data;
    const keys = [...new Set(rows.map((r) => r.fiscal_year))].sort((a, b) => a - b);
    return {
      legend: legend([
        ...Object.entries(COMPONENT_COLORS).map(([c, color]) => ({ label: COMPONENT_NAMES[c], color })),
        { label: "Partial fiscal year (dashed)", color: "#5f6b7a", dashed: true },
      ]),
      svg: stackedBars({
        rows, keys, keyOf: (r) => r.fiscal_year, seriesOf: (r) => r.component, valueOf: (r) => r.quantity_lbs,
        completeOf: (r) => r.period_complete, colors: COMPONENT_COLORS, width, height: ctx.chartHeight,
        tickFormat: (fy) => `FY${String(fy).slice(2)}`, yLabel: "Pounds",
        describe: (r) => `FY${r.fiscal_year}, ${r.component}: ${formatPounds(r.quantity_lbs)} lb`
          + `${r.period_complete === false ? " (partial year)" : ""}`,
        description: `${ctx.drugName(s.drug)} seized at the Southwest Border by fiscal year, ports of entry and Border Patrol`,
      }),
    };
  },
  columns: [
    { label: "Fiscal year", value: (r) => `FY${r.fiscal_year}` },
    { label: "Component", value: (r) => COMPONENT_NAMES[r.component] ?? r.component },
    { label: "Pounds", value: (r) => formatPounds(r.quantity_lbs), numeric: true },
    { label: "Seizure events", value: (r) => formatInteger(r.event_count), numeric: true },
    { label: "Whole year in the data", value: (r) => (r.period_complete === false ? "no (partial)" : "yes") },
  ],
};

const seizureMonths = {
  id: "seizure-months",
  url: (s) => request("/seizures", {
    drug: s.drug, region: "southwest", fiscal_year: s.fiscalYear, group_by: "component,month", limit: ROWS,
  }),
  subtitle: (s, ctx) => `${ctx.drugName(s.drug)} seized at the Southwest Border in FY${s.fiscalYear} `
    + `(${yearsRange(s.fiscalYear)}), pounds per month, ports of entry vs Border Patrol.`,
  draw(doc, s, ctx, width) {
    const unavailable = unpublishedMonths(s.fiscalYear, doc.meta);
    return {
      legend: legend([
        ...Object.entries(COMPONENT_COLORS).map(([c, color]) => ({ label: COMPONENT_NAMES[c], color })),
        ...(unavailable.length ? [{ label: "Not yet published (dashed)", color: "#5f6b7a", dashed: true }] : []),
      ]),
      svg: stackedBars({
        rows: doc.data, keys: fiscalYearMonths(s.fiscalYear), keyOf: (r) => r.month, seriesOf: (r) => r.component,
        valueOf: (r) => r.quantity_lbs, completeOf: (r) => r.period_complete, colors: COMPONENT_COLORS, width,
        height: ctx.chartHeight, tickFormat: monthTicks(width), yLabel: "Pounds", unavailable,
        describe: (r) => `${monthLabel(r.month)}, ${r.component}: ${formatPounds(r.quantity_lbs)} lb`,
        description: `${ctx.drugName(s.drug)} seized at the Southwest Border by month in FY${s.fiscalYear}`,
      }),
    };
  },
  columns: [
    { label: "Month", value: (r) => monthLabel(r.month) },
    { label: "Component", value: (r) => COMPONENT_NAMES[r.component] ?? r.component },
    { label: "Pounds", value: (r) => formatPounds(r.quantity_lbs), numeric: true },
    { label: "Seizure events", value: (r) => formatInteger(r.event_count), numeric: true },
  ],
};

const seizureAreas = {
  id: "seizure-areas",
  url: (s) => request("/seizures", {
    drug: s.drug, region: "southwest", fiscal_year: s.fiscalYear, group_by: "area,component",
    sort: "-quantity_lbs", limit: ROWS,
  }),
  subtitle: (s, ctx) => `${ctx.drugName(s.drug)} seized at the Southwest Border in FY${s.fiscalYear}, pounds, by `
    + "area of responsibility: field offices run the ports of entry, sectors are Border Patrol's.",
  draw(doc, s, ctx, width) {
    return {
      legend: legend(Object.entries(COMPONENT_COLORS).map(([c, color]) => ({ label: COMPONENT_NAMES[c], color }))),
      svg: horizontalBars({
        rows: doc.data, keyOf: (r) => r.area, labelOf: (r) => r.area_name.replace(" Field Office", " (ports)"),
        seriesOf: (r) => r.component, valueOf: (r) => r.quantity_lbs, colors: COMPONENT_COLORS, width,
        xLabel: "Pounds", valueText: (r) => formatPounds(r.quantity_lbs),
        describe: (r) => `${r.area_name} (${r.component}): ${formatPounds(r.quantity_lbs)} lb`,
        description: `${ctx.drugName(s.drug)} seized in FY${s.fiscalYear} by area of responsibility`,
      }),
    };
  },
  columns: [
    { label: "Area of responsibility", value: (r) => r.area_name },
    { label: "Component", value: (r) => COMPONENT_NAMES[r.component] ?? r.component },
    { label: "Pounds", value: (r) => formatPounds(r.quantity_lbs), numeric: true },
    { label: "Seizure events", value: (r) => formatInteger(r.event_count), numeric: true },
  ],
};

const comparison = {
  id: "comparison",
  url: (s) => request("/comparisons/seizures-vs-encounters", { drug: s.drug, fiscal_year: s.fiscalYear, groups: ARTICLE_GROUPS }),
  subtitle: (s, ctx) => `The article's comparison for FY${s.fiscalYear}: each group of states' share of Southwest Border `
    + `${ctx.drugName(s.drug).toLowerCase()} seizures (pounds) beside its share of Southwest Border encounters.`,
  draw(doc, s, ctx, width) {
    const groups = doc.data.map((r) => r.group);
    const marks = doc.data.flatMap((r) => Object.keys(SHARE_COLORS).map((measure) => ({ group: r.group, measure, value: r[measure] })));
    return {
      legend: legend(Object.entries(SHARE_COLORS).map(([m, color]) => ({ label: SHARE_NAMES[m], color }))),
      svg: groupedShares({
        rows: marks, groups, groupLabel: groupName, measures: Object.keys(SHARE_COLORS), colors: SHARE_COLORS, width,
        describe: (m) => `${groupName(m.group)}, ${SHARE_NAMES[m.measure].toLowerCase()}: ${formatShare(m.value)}`,
        description: `Share of Southwest Border seizures and of encounters, ${groups.map(groupName).join(" vs ")}, FY${s.fiscalYear}`,
      }),
    };
  },
  columns: [
    { label: "States", value: (r) => groupName(r.group) },
    { label: "Seizures (lb)", value: (r) => formatPounds(r.seizures), numeric: true },
    { label: "Southwest total (lb)", value: (r) => formatPounds(r.seizures_southwest), numeric: true },
    { label: "Share of seizures", value: (r) => formatShare(r.seizure_share), numeric: true, link: (r) => r.seizure_share_request },
    { label: "Encounters", value: (r) => formatInteger(r.encounters), numeric: true },
    { label: "Southwest total", value: (r) => formatInteger(r.encounters_southwest), numeric: true },
    { label: "Share of encounters", value: (r) => formatShare(r.encounter_share), numeric: true, link: (r) => r.encounter_share_request },
    { label: "Ratio", value: (r) => (r.ratio === null ? "no data" : r.ratio.toFixed(2)), numeric: true },
    { label: "Note", value: (r) => r.note ?? "" },
  ],
};

const encounters = {
  id: "encounters",
  url: (s) => request("/encounters", {
    region: "southwest", component: "usbp", fiscal_year: s.fiscalYear, group_by: "area,month", limit: ROWS,
  }),
  subtitle: (s) => `Border Patrol encounters in each Southwest Border sector, per month of FY${s.fiscalYear} `
    + `(${yearsRange(s.fiscalYear)}).`,
  draw(doc, s, ctx, width) {
    const sectors = [...new Map(doc.data.map((r) => [r.area, r.area_name]))].sort((a, b) => a[1].localeCompare(b[1]));
    const colors = Object.fromEntries(sectors.map(([slug], k) => [slug, SECTOR_PALETTE[k % SECTOR_PALETTE.length]]));
    const unavailable = unpublishedMonths(s.fiscalYear, doc.meta);
    return {
      legend: legend([
        ...sectors.map(([slug, name]) => ({ label: name.replace(" Sector", ""), color: colors[slug] })),
        ...(unavailable.length ? [{ label: "Not yet published (dashed)", color: "#5f6b7a", dashed: true }] : []),
      ]),
      svg: stackedBars({
        rows: doc.data, keys: fiscalYearMonths(s.fiscalYear), keyOf: (r) => r.month, seriesOf: (r) => r.area,
        valueOf: (r) => r.encounter_count, completeOf: (r) => r.period_complete, colors, width,
        height: ctx.chartHeight, tickFormat: monthTicks(width), yLabel: "Encounters", unavailable,
        describe: (r) => `${monthLabel(r.month)}, ${r.area_name}: ${formatInteger(r.encounter_count)} encounters`,
        description: `Border Patrol encounters by Southwest Border sector and month, FY${s.fiscalYear}`,
      }),
    };
  },
  columns: [
    { label: "Month", value: (r) => monthLabel(r.month) },
    { label: "Sector", value: (r) => r.area_name },
    { label: "Encounters", value: (r) => formatInteger(r.encounter_count), numeric: true },
  ],
};

const deaths = {
  id: "deaths",
  url: () => request("/overdose-deaths", { category: Object.keys(DEATH_COLORS).join(","), group_by: "category,year", limit: ROWS }),
  subtitle: () => "Drug overdose deaths in the United States per calendar year: all drugs, and those involving "
    + "synthetic opioids (primarily fentanyl). National figures, not a sum of states.",
  draw(doc, s, ctx, width) {
    const names = new Map(doc.data.map((r) => [r.category, r.category_name]));
    const colors = Object.fromEntries(Object.entries(DEATH_COLORS).filter(([slug]) => names.has(slug)));
    return {
      legend: legend(Object.entries(colors).map(([slug, color]) => ({ label: names.get(slug), color }))),
      svg: linesWithDots({
        rows: doc.data, xOf: (r) => r.year, seriesOf: (r) => r.category, valueOf: (r) => r.deaths,
        completeOf: (r) => r.period_complete, colors, width, height: ctx.chartHeight, yLabel: "Deaths",
        describe: (r) => `${r.year}, ${r.category_name}: ${formatInteger(r.deaths)} deaths`
          + `${r.period_complete === false ? " (partial year)" : ""}`,
        description: "US drug overdose deaths per year, all drugs and synthetic opioids",
      }),
    };
  },
  columns: [
    { label: "Year", value: (r) => String(r.year) },
    { label: "Category", value: (r) => r.category_name },
    { label: "Deaths", value: (r) => formatInteger(r.deaths), numeric: true },
    { label: "Whole year in the data", value: (r) => (r.period_complete === false ? "no (partial)" : "yes") },
  ],
};

export const PANELS = [seizureYears, seizureMonths, seizureAreas, comparison, encounters, deaths];
