import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openCostLedger } from "../../../app/ledger/ledger";
import { createLogger } from "../../../app/observability/logger";
import { LogCapture } from "../../helpers/deps";
import { responseEvent } from "../../helpers/events";
import { ledgerGatewaySuite } from "../../helpers/ledger-gateway";
import { DATABASE_URL, tempDir } from "../../helpers/real-services";

// Issue 10: arbitrary Unicode (NUL and unpaired surrogates included) in every
// stored field never costs a ledger row: rows equal the upstream calls served.

/** One UTF-16 unit or code point: NUL, a lone surrogate, or any code point. */
const unit = fc.oneof(
  fc.constant("\u0000"),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
);
const text = (maxLength: number) => fc.string({ unit, minLength: 1, maxLength });

const suite = ledgerGatewaySuite({});

async function count(where: string, params: unknown[] = []): Promise<number> {
  const result = await suite.sql.query(
    `SELECT count(*)::int AS n FROM ${suite.schema}.ledger_requests WHERE ${where}`,
    params,
  );
  return result.rows[0].n as number;
}

describe("arbitrary Unicode through the ledger", () => {
  it("bills one row per upstream call served, whatever the model, prompt and request id hold", async () => {
    const before = suite.fakes.openai.chatRequests().length;
    const rowsBefore = await count("true");
    await fc.assert(
      fc.asyncProperty(
        text(300),
        text(200),
        fc.string({ unit: "binary-ascii", maxLength: 40 }),
        async (model, prompt, id) => {
          const response = await fetch(`${suite.gateway.url}/v1/chat/completions`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "cache-control": "no-cache",
              // Header values must be bytes; anything the gateway refuses as an id is replaced by its own.
              "x-request-id": id.replace(/[^\x20-\x7e]/g, ""),
            },
            body: JSON.stringify({ model: `openai/${model}`, messages: [{ role: "user", content: prompt }] }),
          });
          await response.arrayBuffer();
          // Served, or refused at the edge naming the field (a model past 256 characters): never a 500.
          expect([200, 400]).toContain(response.status);
        },
      ),
      { numRuns: 60 },
    );
    await suite.gateway.ledger.writer.flush();
    expect(suite.gateway.ledger.writer.spooling).toBe(false);
    expect(suite.gateway.ledger.deadLetters.count).toBe(0);
    expect((await count("true")) - rowsBefore).toBe(suite.fakes.openai.chatRequests().length - before);
  });

  it("stores every text field of a recorded call, however malformed, and dead-letters nothing", async () => {
    const data = tempDir();
    const ledger = await openCostLedger({
      databaseUrl: DATABASE_URL,
      dataDir: data.dir,
      schema: suite.schema,
      logger: createLogger({ level: "warn", destination: new LogCapture() }),
      writer: { flushIntervalMs: 60_000, replayIntervalMs: 60_000 },
    });
    const tag = `prop-${Date.now()}`;
    let recorded = 0;
    try {
      await fc.assert(
        fc.asyncProperty(text(400), text(400), text(400), async (tenant, model, requestId) => {
          ledger.record(responseEvent({ tenant: `${tag}${tenant}`, model, requestId, provider: "openai" }));
          recorded++;
        }),
        { numRuns: 200 },
      );
      await ledger.writer.flush();
      expect(ledger.writer.spooling).toBe(false);
      expect(ledger.deadLetters.count).toBe(0);
      expect(await count("tenant LIKE $1", [`${tag}%`])).toBe(recorded);
    } finally {
      await ledger.close();
      data.cleanup();
    }
  });
});
