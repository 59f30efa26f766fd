// The claims panel: every claim of GET /claims with its wording, verdict, primary figure
// (numerator and denominator), the alternative definitions, and the request behind each number.

import { formatValue } from "./api.js";

const OPERATORS = { ">": "more than", "<": "less than", ">=": "at least", "<=": "at most", nearly: "nearly", about: "about" };
const compact = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const sharePercent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 2 });

function element(tag, { className, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function link(href, text) {
  return element("a", { text, attrs: { href } });
}

/** The verdict as a badge; its class picks a colour, its text says it (colour is never alone). */
export function verdictBadge(verdict) {
  const slug = String(verdict).replace(/[^a-z]+/gi, "-").toLowerCase();
  return element("span", { className: `verdict verdict-${slug}`, text: verdict });
}

function comparatorText(comparator) {
  const value = comparator.unit === "share" ? sharePercent.format(comparator.value) : compact.format(comparator.value);
  const unit = comparator.unit === "share" ? "" : ` ${comparator.unit}`;
  return `${OPERATORS[comparator.op] ?? comparator.op} ${value}${unit}`;
}

function unitOf(definition) {
  return definition.unit === "share" ? "share" : definition.unit;
}

/** "89.96% = 8,622.5 lb ÷ 9,584.4 lb" for a share, "9,584.4 lb" for a value. */
function figure(definition) {
  const measureUnit = definition.measure === "quantity_lbs" ? "lb" : definition.measure.replace(/_count$/, "s");
  const value = formatValue(definition.value, unitOf(definition), { precise: true });
  const parts = [element("strong", { className: "figure-value", text: value })];
  if (definition.denominator) {
    parts.push(document.createTextNode(" = "),
      element("span", { className: "figure-numerator", text: formatValue(definition.numerator?.value, measureUnit) }),
      document.createTextNode(" ÷ "),
      element("span", { className: "figure-denominator", text: formatValue(definition.denominator.value, measureUnit) }));
  }
  return element("p", { className: "figure" }, ...parts);
}

function requests(definition) {
  const items = [];
  if (definition.value_request) items.push(link(definition.value_request, definition.denominator ? "the share" : "the figure"));
  if (definition.denominator) {
    if (definition.numerator?.request) items.push(link(definition.numerator.request, "numerator"));
    if (definition.denominator.request) items.push(link(definition.denominator.request, "denominator"));
  }
  const line = element("p", { className: "requests", text: "Reproduce: " });
  items.forEach((item, k) => line.append(...(k ? [document.createTextNode(" · "), item] : [item])));
  return line;
}

function definitionBlock(definition, role) {
  const block = element("div", {
    className: `definition definition-${role}`,
    attrs: {
      "data-definition-id": definition.id, "data-verdict": definition.verdict, "data-value": String(definition.value),
      "data-numerator": String(definition.numerator?.value ?? ""), "data-denominator": String(definition.denominator?.value ?? ""),
    },
  });
  const heading = element(role === "primary" ? "h4" : "h5", { className: "definition-label" });
  heading.append(role === "primary" ? "Primary definition: " : "", definition.label);
  block.append(heading, figure(definition),
    element("p", { className: "explanation" }, verdictBadge(definition.verdict), document.createTextNode(` ${definition.explanation ?? ""}`)));
  const notes = [definition.numerator?.note, definition.denominator?.note].filter(Boolean);
  if (notes.length) block.append(element("p", { className: "note", text: notes.join(" ") }));
  block.append(requests(definition));
  return block;
}

function claimCard(claim) {
  const titleId = `claim-${claim.id}`;
  const card = element("article", {
    className: "claim",
    attrs: { "data-claim-id": claim.id, "data-verdict": claim.verdict, "aria-labelledby": titleId },
  });
  const header = element("header", { className: "claim-header" },
    element("h3", { text: claim.claim, attrs: { id: titleId } }), verdictBadge(claim.verdict));
  const quote = element("p", { className: "quote" },
    element("q", { text: claim.quote }),
    document.createTextNode(` (${claim.article.publication}, ${claim.article.date}): `),
    element("span", { className: "wording", text: comparatorText(claim.comparator) }));
  card.append(header, quote, definitionBlock(claim.primary, "primary"));
  if (claim.alternatives.length) {
    const list = element("ul", { className: "alternatives", attrs: { "aria-label": "Other reasonable definitions" } });
    for (const alternative of claim.alternatives) list.append(element("li", {}, definitionBlock(alternative, "alternative")));
    card.append(element("h4", { className: "alternatives-title", text: `Other definitions (${claim.alternatives.length})` }), list);
  }
  const files = claim.releases.map((r) => r.file_name).join(", ");
  card.append(element("details", { className: "rule" },
    element("summary", { text: "Rules and releases" }),
    element("p", { text: claim.wording_rule }),
    element("p", { text: claim.approximately_rule }),
    element("p", { text: claim.verdict_rule }),
    element("p", { text: `Releases: ${files || "none"}.` })));
  return card;
}

/** Fill the claims panel from a GET /claims document. */
export function renderClaims(container, doc) {
  container.replaceChildren(...doc.data.map(claimCard));
  const summary = doc.data.length ? doc.data[0].article : null;
  return summary;
}
