/**
 * Exact money. Amounts are integer pico-dollars (1e-12 USD) in bigint: a price
 * of USD per million tokens with up to 6 decimals times a token count is an
 * exact integer there, so sums never drift the way float sums do.
 */

/** Pico-dollars in one USD. */
export const PICO_PER_USD = 1_000_000_000_000n;
const DECIMALS = 12;

/** A price in micro-dollars per million tokens (= pico-dollars per token), exact to 6 decimals of USD/M. */
export type PicoPerToken = bigint;

/**
 * Converts a non-negative USD amount given as a number or decimal string to an
 * integer of 10^-scale USD, rounding half up beyond `scale` decimals.
 */
export function decimalToScaled(value: number | string, scale: number): bigint {
  const text = typeof value === "number" ? numberToPlain(value) : value.trim();
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a non-negative decimal number`);
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  const kept = fraction.slice(0, scale).padEnd(scale, "0");
  let scaled = BigInt(whole + kept);
  if ((fraction[scale] ?? "0") >= "5") scaled += 1n;
  return scaled;
}

/** A finite number in plain (not exponent) notation, as the shortest round-tripping decimal. */
function numberToPlain(value: number): string {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${value} is not a non-negative finite number`);
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // Small prices like 1e-7 print in exponent form; expand them exactly.
  const [mantissa = "0", exponentText = "0"] = text.toLowerCase().split("e");
  const exponent = Number(exponentText);
  const [intPart = "0", fracPart = ""] = mantissa.split(".");
  const digits = intPart + fracPart;
  const point = intPart.length + exponent;
  if (point <= 0) return `0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + "0".repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** USD per million tokens to pico-dollars per token (exact for up to 6 decimals). */
export function pricePerMillionToPicoPerToken(usdPerMillion: number | string): PicoPerToken {
  return decimalToScaled(usdPerMillion, 6);
}

/** Pico-dollars as a USD decimal string with 12 decimals, e.g. `0.000002500000`. */
export function picoToUsdString(pico: bigint): string {
  const negative = pico < 0n;
  const digits = (negative ? -pico : pico).toString().padStart(DECIMALS + 1, "0");
  const whole = digits.slice(0, -DECIMALS);
  const fraction = digits.slice(-DECIMALS);
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}

/** A USD decimal string (as Postgres NUMERIC returns it) to pico-dollars. */
export function usdStringToPico(usd: string): bigint {
  return decimalToScaled(usd, DECIMALS);
}

/** Pico-dollars to a JSON-friendly USD number (for display only; sums stay in bigint). */
export function picoToUsdNumber(pico: bigint): number {
  return Number(picoToUsdString(pico));
}
