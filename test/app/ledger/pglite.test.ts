import { afterAll, describe, expect, it } from "vitest";
import { openCostLedger } from "../../../app/ledger/ledger";
import { GatewayEvents } from "../../../app/observability/events";
import { createLogger } from "../../../app/observability/logger";
import { LogCapture } from "../../helpers/deps";
import { responseEvent } from "../../helpers/events";
import { tempDir } from "../../helpers/real-services";

const data = tempDir();
afterAll(() => data.cleanup());

describe("cost ledger on embedded PGlite (no DATABASE_URL)", () => {
  it("runs the same migrations and SQL under dataDir/ledger, and keeps rows across restarts", async () => {
    const logger = createLogger({ level: "debug", destination: new LogCapture() });
    const events = new GatewayEvents();
    const ledger = await openCostLedger({ dataDir: data.dir, logger });
    expect(ledger.db.kind).toBe("pglite");
    ledger.attach(events);
    const day = new Date().toISOString().slice(0, 10);
    events.emit(
      "onResponse",
      responseEvent({ model: "gpt-4o", inputTokens: 1_000_000, outputTokens: 1_000_000 }),
    );
    events.emit("onResponse", responseEvent({ model: "gpt-4o", cacheHit: true }));
    const usage = await ledger.usage(day);
    expect(usage).toMatchObject({
      requests: 2,
      cacheHits: 1,
      inputTokens: 1_000_000,
      outputTokens: 1_000_000,
    });
    expect(usage.costPico).toBe(12_500_000_000_000n);
    await ledger.close();

    const reopened = await openCostLedger({ dataDir: data.dir, logger });
    expect(await reopened.spentPico(day)).toBe(12_500_000_000_000n);
    const versions = await reopened.db.query<{ version: number }>("SELECT version FROM ledger_migrations");
    expect(versions).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
    await reopened.close();
  });
});
