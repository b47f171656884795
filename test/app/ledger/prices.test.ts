import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../app/config/load-config";
import { picoToUsdString } from "../../../app/ledger/money";
import { PriceTable, SHIPPED_PRICES } from "../../../app/ledger/prices";

const cost = (table: PriceTable, provider: string, model: string, input: number, output: number) =>
  picoToUsdString(table.price(provider, model, input, output).costPico);

describe("PriceTable", () => {
  const table = new PriceTable();

  it("ships the guide's models with their guide prices, plus a source and date", () => {
    expect(SHIPPED_PRICES.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(SHIPPED_PRICES.sources["openai"]).toMatch(/^https:\/\//);
    const guide: Array<[string, string, number, number]> = [
      ["openai", "gpt-4o", 2.5, 10],
      ["openai", "gpt-4-turbo", 10, 30],
      ["openai", "gpt-3.5-turbo", 0.5, 1.5],
      ["claude", "claude-3-opus", 15, 75],
      ["claude", "claude-3-sonnet", 3, 15],
      ["claude", "claude-3-haiku", 0.25, 1.25],
      ["gemini", "gemini-1.5-pro", 1.25, 5],
      ["gemini", "gemini-1.5-flash", 0.075, 0.3],
    ];
    for (const [provider, model, input, output] of guide) {
      expect(SHIPPED_PRICES.prices[provider as "openai"]?.[model]).toEqual({ input, output });
    }
  });

  it("prices exactly, with no float error", () => {
    // 1,234,567 input tokens of gpt-4o at $2.50/M and 89 output at $10/M.
    expect(cost(table, "openai", "gpt-4o", 1_234_567, 89)).toBe("3.087307500000");
    // 0.075 and 0.3 per million are not exact binary floats; the sum still is exact.
    expect(cost(table, "gemini", "gemini-1.5-flash", 1, 1)).toBe("0.000000375000");
    let total = 0n;
    for (let i = 0; i < 10; i++) total += table.price("gemini", "gemini-1.5-flash", 1, 1).costPico;
    expect(picoToUsdString(total)).toBe("0.000003750000");
  });

  it("prices dated snapshots, -latest aliases and Gemini's models/ prefix as the base model", () => {
    expect(cost(table, "openai", "gpt-4o-2024-08-06", 1_000_000, 0)).toBe("2.500000000000");
    expect(cost(table, "openai", "gpt-4o-mini-2024-07-18", 1_000_000, 0)).toBe("0.150000000000");
    expect(cost(table, "claude", "claude-3-haiku-20240307", 0, 1_000_000)).toBe("1.250000000000");
    expect(cost(table, "claude", "claude-3-5-haiku-latest", 1_000_000, 0)).toBe("0.800000000000");
    expect(cost(table, "gemini", "models/gemini-1.5-flash-002", 1_000_000, 0)).toBe("0.075000000000");
  });

  it("prices Ollama at zero without flagging it", () => {
    expect(table.price("ollama", "llama3.2:3b", 500, 500)).toEqual({ costPico: 0n, unpriced: false });
  });

  it("prices an unknown model at zero and flags it", () => {
    expect(table.price("openai", "gpt-99-ultra", 500, 500)).toEqual({ costPico: 0n, unpriced: true });
    expect(table.price("claude", "", 1, 1)).toEqual({ costPico: 0n, unpriced: true });
  });

  it("takes AI_CONFIG_FILE prices over the shipped ones and adds new models", () => {
    const custom = new PriceTable({
      openai: { "gpt-4o": { input: 1, output: 2 }, "my-finetune": { input: 0.333333, output: 0 } },
    });
    expect(cost(custom, "openai", "gpt-4o", 1_000_000, 1_000_000)).toBe("3.000000000000");
    expect(cost(custom, "openai", "my-finetune", 3, 0)).toBe("0.000000999999");
    expect(cost(custom, "openai", "gpt-4o-mini", 1_000_000, 0)).toBe("0.150000000000");
  });

  it("counts garbage token counts as zero instead of throwing", () => {
    expect(table.price("openai", "gpt-4o", Number.NaN, -5)).toEqual({ costPico: 0n, unpriced: false });
  });

  it("fails when AI_CONFIG_FILE has a negative or non-numeric price", () => {
    const file = JSON.stringify({ prices: { openai: { "gpt-4o": { input: -1, output: "ten" } } } });
    expect(() => loadConfig({ AI_CONFIG_FILE: "/prices.json" }, { readFile: () => file })).toThrow(
      [
        "Invalid configuration (2 problems):",
        "  - AI_CONFIG_FILE (/prices.json): prices.openai.gpt-4o.input: must not be negative",
        "  - AI_CONFIG_FILE (/prices.json): prices.openai.gpt-4o.output: must be a number of USD per million tokens",
      ].join("\n"),
    );
  });
});
