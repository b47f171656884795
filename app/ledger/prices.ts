import type { ProviderName } from "../config/defaults";
import type { FileConfig } from "../config/file-config";
import { type PicoPerToken, pricePerMillionToPicoPerToken } from "./money";
import shipped from "./prices.json";

/** USD per million input and output tokens, as written in the table. */
export interface Price {
  readonly input: number;
  readonly output: number;
}

/** Prices by provider, then model; `*` is a provider-wide price (Ollama is free). */
export type PriceMap = Partial<Record<ProviderName, Readonly<Record<string, Price>>>>;

/** The table shipped with the gateway, with its sources and date (app/ledger/prices.json). */
export const SHIPPED_PRICES = {
  asOf: shipped.asOf,
  sources: shipped.sources as Readonly<Record<string, string>>,
  prices: shipped.prices as PriceMap,
};

/** What pricing one request gave. */
export interface Priced {
  /** Pico-dollars (1e-12 USD). */
  readonly costPico: bigint;
  /** True when no price was found and the request was priced 0. */
  readonly unpriced: boolean;
}

interface CompiledPrice {
  readonly input: PicoPerToken;
  readonly output: PicoPerToken;
}

// Vendors answer with dated snapshots (`gpt-4o-2024-08-06`, `claude-3-haiku-20240307`),
// `-latest` aliases, Gemini's `models/` prefix and `-001` versions; all price as the base model.
const SNAPSHOT_SUFFIX = /(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-\d{3}|-preview(-\d{2}-\d{2})?)$/;

/**
 * Prices requests exactly: the shipped table with `AI_CONFIG_FILE` prices laid
 * over it (per provider and model). Unknown models price 0 and say so.
 */
export class PriceTable {
  private readonly prices = new Map<string, CompiledPrice>();

  constructor(overrides: FileConfig["prices"] = {}, base: PriceMap = SHIPPED_PRICES.prices) {
    for (const map of [base, overrides as PriceMap]) {
      for (const [provider, models] of Object.entries(map)) {
        for (const [model, price] of Object.entries(models ?? {})) {
          this.prices.set(`${provider}/${model}`, {
            input: pricePerMillionToPicoPerToken(price.input),
            output: pricePerMillionToPicoPerToken(price.output),
          });
        }
      }
    }
  }

  /** The price of a model, after normalizing snapshot names; undefined when unknown. */
  find(provider: string, model: string): CompiledPrice | undefined {
    let name = model.startsWith("models/") ? model.slice("models/".length) : model;
    for (;;) {
      const price = this.prices.get(`${provider}/${name}`);
      if (price) return price;
      const shorter = name.replace(SNAPSHOT_SUFFIX, "");
      if (shorter === name) break;
      name = shorter;
    }
    return this.prices.get(`${provider}/*`);
  }

  /** Exact cost of one request in pico-dollars. */
  price(provider: string, model: string, inputTokens: number, outputTokens: number): Priced {
    const price = this.find(provider, model);
    if (!price) return { costPico: 0n, unpriced: true };
    const cost =
      BigInt(safeTokens(inputTokens)) * price.input + BigInt(safeTokens(outputTokens)) * price.output;
    return { costPico: cost, unpriced: false };
  }
}

// Upstreams are not trusted to report sane counts; a bad count prices as 0 tokens.
function safeTokens(count: number): number {
  return Number.isSafeInteger(count) && count > 0 ? count : 0;
}
