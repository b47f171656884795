import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { type ChatRequest, maxOutputTokens } from "../chat/schema";
import type { GatewayConfig } from "../config/load-config";
import { HttpError } from "../errors";
import { candidateTargets } from "../gateway/routing";
import { utcDay } from "../ledger/ledger";
import { decimalToScaled, PICO_PER_USD, picoToUsdNumber, usdStringToPico } from "../ledger/money";
import type { GatewayEvents } from "../observability/events";
import { METRIC } from "../observability/metric-names";
import { type MetricsSink, noopMetrics } from "../observability/metrics-sink";
import { estimatePromptTokens } from "./estimate";
import type { SpendCounter } from "./spend-counter";

/** The settings a budget reads per check, so a config reload applies at once. */
export interface BudgetSettings {
  readonly dailyBudgetUsd: number;
  readonly budgetEnforce: boolean;
  readonly alertWebhookUrl: string | undefined;
  /** Output tokens a reservation assumes when the request sets no `max_tokens`. */
  readonly budgetReserveMaxTokens?: number;
}

/** A reserved share of today's budget, held while a paid call runs. */
export interface Reservation {
  /** The worst-case cost reserved, in pico-dollars. */
  readonly pico: bigint;
  /** Releases the reservation once the call's real cost has been recorded (or it cost nothing). */
  release(): Promise<void>;
}

/** Prices tokens of a target in pico-dollars (the ledger's price table). */
export type PriceFn = (provider: string, model: string, inputTokens: number, outputTokens: number) => bigint;

/** How long a reservation lives if its replica dies before releasing it. */
const RESERVATION_TTL_MS = 15 * 60 * 1000;

const NO_RESERVATION: Reservation = { pico: 0n, release: async () => {} };

/** An alert level and the share of the budget that raises it. */
export const BUDGET_THRESHOLDS = [
  { level: "warning", percent: 80 },
  { level: "critical", percent: 100 },
] as const;

/** `warning` at 80 %, `critical` at 100 %. */
export type BudgetAlertLevel = (typeof BUDGET_THRESHOLDS)[number]["level"];

/** What the webhook receives. */
export interface BudgetAlert {
  readonly source: "budget";
  readonly level: BudgetAlertLevel;
  readonly date: string;
  readonly spentUsd: number;
  readonly limitUsd: number;
  readonly percent: number;
  readonly message: string;
}

/** Options of {@link Budget}. */
export interface BudgetOptions {
  readonly counter: SpendCounter;
  readonly settings: () => BudgetSettings;
  readonly logger: Logger;
  readonly metrics?: MetricsSink;
  readonly clock?: { now(): number };
  /** Today's spend in the ledger, to reseed the counter from. */
  readonly ledgerSpent?: (day: string) => Promise<bigint>;
  /** Prices a call's worst case for reservations. @default - every call reserves 0 */
  readonly price?: PriceFn;
  /** Sends webhook alerts; injected by tests. @default global fetch */
  readonly fetch?: typeof fetch;
  /** Webhook timeout. @default 5000 */
  readonly webhookTimeoutMs?: number;
}

/** `{ limit, spent, percent }` of docs/design.md section 3, in USD. */
export interface BudgetStatus {
  readonly limit: number;
  readonly spent: number;
  readonly percent: number;
}

/**
 * The daily budget (AI_DAILY_BUDGET). Spend is added to a shared counter as
 * each request is priced; crossing 80 % and 100 % raises one alert per level
 * per UTC day across all replicas; with enforcement on, paid calls are refused
 * once the day's budget is spent. Requests already in flight when the limit is
 * reached still complete, so overspend is bounded by them.
 */
export class Budget {
  private readonly metrics: MetricsSink;
  private readonly clock: { now(): number };
  private readonly alerted = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Spend that could not reach the counter (Redis down); added with the next increment. */
  private unsynced = 0n;
  /** Spend on its way to the counter (an increment not yet answered). */
  private pushing = 0n;
  /** The last total the counter reported, per day; used while the counter is unreachable. */
  private readonly counted = new Map<string, bigint>();
  private counterDown = false;
  private limit: { usd: number; pico: bigint } | undefined;
  /** Reservations made in this process while the shared counter was unreachable. */
  private readonly localReservations = new Map<string, bigint>();

  constructor(private readonly options: BudgetOptions) {
    this.metrics = options.metrics ?? noopMetrics;
    this.clock = options.clock ?? { now: () => Date.now() };
    // Read at scrape time: the day rolls over at 00:00 UTC whether or not this pod records spend.
    this.metrics.gaugeFrom?.(METRIC.budgetSpent, () => this.spentUsd());
  }

  /** Today's (UTC, by the injected clock) spend in USD, as the budget gauge exports it. */
  async spentUsd(): Promise<number> {
    return Number(await this.spentPico()) / Number(PICO_PER_USD);
  }

  /** Subscribes to `onCost`; returns the unsubscribe function. */
  attach(events: GatewayEvents): () => void {
    return events.on("onCost", (event) => {
      if (event.cacheHit) return;
      this.track(this.record(usdStringToPico(event.costUsd)));
    });
  }

  /**
   * Raises today's counter to at least the ledger's sum for today. Both count
   * the same requests (the counter as they are priced, the ledger once rows are
   * written), so the true spend is at least the larger of the two and adding
   * them would count requests twice; a max-merge is exact when either one is
   * complete: the counter after a ledger-less restart, the ledger after Redis
   * lost its data. Run at start and whenever Redis reconnects.
   */
  async reseed(): Promise<bigint> {
    const day = this.today();
    if (!this.options.ledgerSpent) return this.spentPico(day);
    try {
      // Spend this process kept while the counter was away goes in first, so
      // the max-merge below compares like with like.
      if (this.unsynced > 0n) await this.push(day, 0n);
      const fromLedger = await this.options.ledgerSpent(day);
      const total = await this.options.counter.raiseTo(day, fromLedger);
      this.counted.set(day, total);
      this.publish(total);
      return total;
    } catch (error) {
      this.options.logger.warn({ err: { message: (error as Error).message } }, "budget reseed failed");
      return (this.counted.get(day) ?? 0n) + this.unsynced;
    }
  }

  /** Adds priced spend to today's counter and raises alerts the new total crosses. */
  async record(pico: bigint): Promise<bigint> {
    const day = this.today();
    if (pico <= 0n && this.unsynced === 0n) return (this.counted.get(day) ?? 0n) + this.unsynced;
    let total: bigint;
    try {
      total = await this.push(day, pico);
      if (this.counterDown) this.options.logger.info("budget counter reachable again; local spend synced");
      this.counterDown = false;
    } catch (error) {
      // push kept `pico` as unsynced.
      total = (this.counted.get(day) ?? 0n) + this.unsynced;
      if (!this.counterDown) {
        this.options.logger.warn(
          { err: { message: (error as Error).message } },
          "budget counter unavailable; spend kept locally until it returns",
        );
      }
      this.counterDown = true;
    }
    this.publish(total);
    await this.alertIfCrossed(day, total);
    return total;
  }

  /** Today's spend in pico-dollars: the shared counter plus spend it has not seen yet. */
  async spentPico(day = this.today()): Promise<bigint> {
    const local = day === this.today() ? this.unsynced : 0n;
    try {
      const counted = await this.options.counter.get(day);
      this.counted.set(day, counted);
      return counted + local;
    } catch {
      return (this.counted.get(day) ?? 0n) + local;
    }
  }

  /**
   * Adds `pico` plus any unsynced spend to the counter; on failure both stay
   * unsynced. While the increment is on its way it counts as `pushing`, so a
   * local reservation check never loses sight of it.
   */
  private async push(day: string, pico: bigint): Promise<bigint> {
    const amount = this.unsynced + pico;
    this.unsynced = 0n;
    this.pushing += amount;
    try {
      const counted = await this.options.counter.add(day, amount);
      this.counted.set(day, counted);
      return counted + this.unsynced;
    } catch (error) {
      this.unsynced += amount;
      throw error;
    } finally {
      this.pushing -= amount;
    }
  }

  /** `{ limit, spent, percent }` for a day; `spent` from the counter for today, else `ledgerSpent`. */
  async status(day: string, ledgerSpent?: bigint): Promise<BudgetStatus> {
    const limitUsd = this.options.settings().dailyBudgetUsd;
    let spent = ledgerSpent ?? 0n;
    if (day === this.today()) {
      const counted = await this.spentPico(day);
      if (counted > spent) spent = counted;
    }
    const limit = this.limitPico();
    const percent = limit === 0n ? (spent > 0n ? 100 : 0) : Number((spent * 10_000n) / limit) / 100;
    return { limit: limitUsd, spent: picoToUsdNumber(spent), percent };
  }

  /**
   * Throws 429 `budget_exceeded` with `Retry-After` (seconds to the next UTC
   * day) when enforcement is on and today's budget is spent. Call before a paid
   * upstream call, never for a cache hit.
   */
  async check(): Promise<void> {
    const settings = this.options.settings();
    if (!settings.budgetEnforce) return;
    const spent = await this.spentPico();
    if (spent < this.limitPico()) return;
    throw this.refusal();
  }

  /**
   * With enforcement on, reserves a paid call's worst-case cost (estimated
   * prompt tokens plus `max_tokens`, or `AI_BUDGET_RESERVE_MAX_TOKENS`, at the
   * dearest target it may reach) atomically against today's budget: refused
   * with 429 `budget_exceeded` when spend plus every live reservation would
   * pass it. In Redis (one script for all replicas) or, while Redis is away,
   * in this process. Release it once the call's cost is recorded.
   */
  async reserve(request: ChatRequest, config: GatewayConfig): Promise<Reservation> {
    const settings = this.options.settings();
    if (!settings.budgetEnforce) return NO_RESERVATION;
    const pico = this.worstCase(request, config, settings);
    const day = this.today();
    const id = randomUUID();
    const limit = this.limitPico();
    let shared = true;
    let granted: boolean;
    try {
      // Spend this process kept while Redis was away goes in first, so the check sees it.
      if (this.unsynced > 0n) await this.push(day, 0n);
      granted = await this.options.counter.reserve({
        day,
        id,
        pico,
        limitPico: limit,
        ttlMs: RESERVATION_TTL_MS,
        nowMs: this.clock.now(),
      });
    } catch (error) {
      shared = false;
      let reserved = 0n;
      for (const amount of this.localReservations.values()) reserved += amount;
      const spent = (this.counted.get(day) ?? 0n) + this.unsynced + this.pushing;
      granted = spent + reserved + pico <= limit && spent + reserved < limit;
      if (granted) this.localReservations.set(id, pico);
      this.options.logger.warn(
        { err: { message: (error as Error).message } },
        "budget counter unavailable; reservation kept in this process",
      );
    }
    if (!granted) throw this.refusal();
    return {
      pico,
      release: async () => {
        // The call's cost goes to the counter before its reservation leaves.
        await Promise.allSettled([...this.inFlight]);
        if (!shared) {
          this.localReservations.delete(id);
          return;
        }
        try {
          await this.options.counter.release(day, id, pico);
        } catch (error) {
          // It lapses on its own (RESERVATION_TTL_MS).
          this.options.logger.warn({ err: { message: (error as Error).message } }, "budget release failed");
        }
      },
    };
  }

  private worstCase(request: ChatRequest, config: GatewayConfig, settings: BudgetSettings): bigint {
    if (!this.options.price) return 0n;
    const input = estimatePromptTokens(request.messages);
    const output = maxOutputTokens(request) ?? settings.budgetReserveMaxTokens ?? 4096;
    let worst = 0n;
    for (const target of candidateTargets(request.model, config)) {
      const cost = this.options.price(target.provider, target.model, input, output);
      if (cost > worst) worst = cost;
    }
    return worst;
  }

  private refusal(): HttpError {
    const settings = this.options.settings();
    const now = this.clock.now();
    const nextDay = Date.UTC(
      new Date(now).getUTCFullYear(),
      new Date(now).getUTCMonth(),
      new Date(now).getUTCDate() + 1,
    );
    const retryAfter = Math.max(1, Math.ceil((nextDay - now) / 1000));
    return new HttpError(429, {
      message: `Daily AI budget of $${settings.dailyBudgetUsd} is spent; paid calls resume at 00:00 UTC`,
      type: "budget_exceeded",
      code: "budget_exceeded",
      headers: { "Retry-After": String(retryAfter) },
    });
  }

  /** Waits for spend and alerts still being recorded (tests and the shutdown drain). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private limitPico(): bigint {
    const usd = this.options.settings().dailyBudgetUsd;
    // Parsed once per value: this runs for every priced request.
    if (this.limit?.usd !== usd) this.limit = { usd, pico: decimalToScaled(usd, 12) };
    return this.limit.pico;
  }

  private async alertIfCrossed(day: string, total: bigint): Promise<void> {
    const limit = this.limitPico();
    if (total <= 0n) return;
    for (const { level, percent } of BUDGET_THRESHOLDS) {
      // total / limit >= percent / 100, in integers.
      if (total * 100n < limit * BigInt(percent)) continue;
      const key = `budget:alert:${day}:${level}`;
      if (this.alerted.has(key)) continue;
      this.alerted.add(key);
      let first: boolean;
      try {
        first = await this.options.counter.claimOnce(key, 2 * 24 * 3600);
      } catch (error) {
        // Without Redis the once-ness is per process: better a duplicate alert than none.
        this.options.logger.warn({ err: { message: (error as Error).message } }, "budget alert claim failed");
        first = true;
      }
      if (first) await this.raise(level, day, total, limit);
    }
  }

  private async raise(level: BudgetAlertLevel, day: string, total: bigint, limit: bigint): Promise<void> {
    const settings = this.options.settings();
    const spentUsd = picoToUsdNumber(total);
    const percent = limit === 0n ? 100 : Number((total * 10_000n) / limit) / 100;
    const message =
      level === "critical"
        ? `Daily AI budget exceeded: $${spentUsd} of $${settings.dailyBudgetUsd} (${percent}%)`
        : `AI budget at ${percent}%: $${spentUsd} of $${settings.dailyBudgetUsd}`;
    const alert: BudgetAlert = {
      source: "budget",
      level,
      date: day,
      spentUsd,
      limitUsd: settings.dailyBudgetUsd,
      percent,
      message,
    };
    const line = {
      alert: "budget",
      threshold: level,
      date: day,
      spentUsd,
      limitUsd: settings.dailyBudgetUsd,
      percent,
    };
    if (level === "critical") this.options.logger.error(line, message);
    else this.options.logger.warn(line, message);
    this.metrics.inc(METRIC.budgetAlerts, { level });
    this.metrics.inc(METRIC.alerts, { source: "budget" });
    if (!settings.alertWebhookUrl) return;
    const send = this.options.fetch ?? fetch;
    try {
      const response = await send(settings.alertWebhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(this.options.webhookTimeoutMs ?? 5_000),
      });
      await response.body?.cancel();
      if (!response.ok)
        this.options.logger.warn(
          { status: response.status, threshold: level },
          "budget alert webhook refused",
        );
    } catch (error) {
      // The URL may carry a token: log the failure, never the address.
      this.options.logger.warn(
        { err: { message: (error as Error).message }, threshold: level },
        "budget alert webhook failed",
      );
    }
  }

  private publish(total: bigint): void {
    this.metrics.set(METRIC.budgetSpent, Number(total) / Number(PICO_PER_USD));
    this.metrics.set(METRIC.budgetLimit, this.options.settings().dailyBudgetUsd);
  }

  private track(promise: Promise<unknown>): void {
    this.inFlight.add(promise);
    void promise
      .catch((error: unknown) => this.options.logger.error({ err: error }, "budget update failed"))
      .finally(() => this.inFlight.delete(promise));
  }

  private today(): string {
    return utcDay(this.clock.now());
  }
}
