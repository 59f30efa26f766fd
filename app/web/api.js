// Requests to the public JSON endpoints, and the number formats the page shows.

/** An API answer that was not 200: the message is the API's own `error.message`. */
export class ApiError extends Error {
  constructor(url, status, message) {
    super(message);
    this.url = url;
    this.status = status;
  }
}

/** A request path with its query, keeping `,` and `;` readable (the API's list separators). */
export function request(path, params) {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .map(([name, value]) => {
      const text = encodeURIComponent(String(value)).replace(/%2C/gi, ",").replace(/%3B/gi, ";");
      return `${encodeURIComponent(name)}=${text}`;
    });
  return parts.length ? `${path}?${parts.join("&")}` : path;
}

/** The same request as CSV: exactly the rows of the JSON answer. */
export function csvRequest(url) {
  return `${url}${url.includes("?") ? "&" : "?"}format=csv`;
}

/** GET a JSON document from the API; a non-200 answer throws ApiError with the API's message. */
export async function getJson(url, { signal } = {}) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, signal });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body?.error?.message ?? `HTTP ${response.status}`;
    throw new ApiError(url, response.status, message);
  }
  return body;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const pounds = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const percentOne = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1, minimumFractionDigits: 1 });
const percentTwo = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 2, minimumFractionDigits: 2 });

/** A figure with its unit as the page writes it: "9,584.4 lb", "31.8 %", "1,734,686 encounters". */
export function formatValue(value, unit, { precise = false } = {}) {
  if (value === null || value === undefined) return "no data";
  if (unit === "share") return (precise ? percentTwo : percentOne).format(value);
  if (unit === "lb" || unit === "lbs") return `${pounds.format(value)} lb`;
  if (unit === "kg") return `${pounds.format(value)} kg`;
  const number = Number.isInteger(value) ? integer.format(value) : pounds.format(value);
  return unit ? `${number} ${unit}` : number;
}

export function formatInteger(value) {
  return value === null || value === undefined ? "no data" : integer.format(value);
}

export function formatPounds(value) {
  return value === null || value === undefined ? "no data" : pounds.format(value);
}

export function formatShare(value) {
  return value === null || value === undefined ? "no data" : percentOne.format(value);
}

/** Federal fiscal year of a "YYYY-MM" month: October starts the next fiscal year. */
export function fiscalYearOf(month) {
  const [year, number] = month.split("-").map(Number);
  return number >= 10 ? year + 1 : year;
}

/** The twelve months of fiscal year `fy`, October of the year before to September. */
export function fiscalYearMonths(fy) {
  const months = [];
  for (let k = 0; k < 12; k += 1) {
    const year = k < 3 ? fy - 1 : fy;
    const number = ((k + 9) % 12) + 1;
    months.push(`${year}-${String(number).padStart(2, "0")}`);
  }
  return months;
}

const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2020-10" as "Oct 2020" (or "Oct" when short). */
export function monthLabel(month, { short = false } = {}) {
  const [year, number] = month.split("-");
  const name = MONTH_NAMES[Number(number) - 1];
  return short ? name : `${name} ${year}`;
}
