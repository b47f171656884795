import { mkdtemp, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigReloader } from "../../../app/config/reload";
import { fileDataDir } from "../../helpers/data-dir";
import { testDeps } from "../../helpers/deps";

const route = (model: string) => ({ routes: { smart: { targets: [{ provider: "openai", model }] } } });

describe("config reload", () => {
  const reloaders: ConfigReloader[] = [];
  afterEach(() => {
    for (const reloader of reloaders.splice(0)) reloader.close();
  });

  const setup = async (content: unknown) => {
    const dir = await mkdtemp(join(tmpdir(), "reload-"));
    const file = join(dir, "config.json");
    await writeFile(file, JSON.stringify(content));
    const env = { ENVIRONMENT: "development", DATA_DIR: fileDataDir(), AI_CONFIG_FILE: file };
    const deps = testDeps(env);
    const reloader = new ConfigReloader({ store: deps.config, env, logger: deps.logger, debounceMs: 20 });
    reloaders.push(reloader);
    return { file, dir, deps, reloader };
  };

  it("swaps in a changed file when it is written, routing, prices and limits included", async () => {
    const { file, deps, reloader } = await setup(route("gpt-4o-mini"));
    reloader.start();
    const before = deps.config.get();
    await writeFile(
      file,
      JSON.stringify({
        ...route("gpt-4o"),
        prices: { openai: { "gpt-4o": { input: 2.5, output: 10 } } },
        limits: { maxPromptCharacters: 1000 },
      }),
    );
    await vi.waitFor(() => expect(deps.config.get().file.routes["smart"]?.targets[0]?.model).toBe("gpt-4o"), {
      timeout: 5_000,
    });
    const after = deps.config.get();
    expect(after.file.prices.openai?.["gpt-4o"]).toEqual({ input: 2.5, output: 10 });
    expect(after.file.limits.maxPromptCharacters).toBe(1000);
    expect(before.file.routes["smart"]?.targets[0]?.model).toBe("gpt-4o-mini");
    const line = deps.logs.records().find((r) => r["msg"] === "config reloaded");
    expect(line).toMatchObject({ reason: "file change", changed: ["file"] });
  });

  it("follows a ConfigMap-style symlink swap (a rename in the directory)", async () => {
    const { file, dir, deps, reloader } = await setup(route("a"));
    reloader.start();
    const staged = join(dir, "..staged.json");
    await writeFile(staged, JSON.stringify(route("b")));
    await rename(staged, file);
    await vi.waitFor(() => expect(deps.config.get().file.routes["smart"]?.targets[0]?.model).toBe("b"), {
      timeout: 5_000,
    });
  });

  it("keeps the last good config and logs every problem when the new file is invalid", async () => {
    const { file, deps, reloader } = await setup(route("good"));
    const good = deps.config.get();
    await writeFile(
      file,
      JSON.stringify({ routes: { smart: { targets: [] } }, limits: { maxMessages: -1 } }),
    );
    expect(reloader.reload("SIGHUP")).toBe("invalid");
    expect(deps.config.get()).toBe(good);
    const line = deps.logs
      .records()
      .find((r) => r["msg"] === "config reload rejected; keeping the last good configuration");
    expect(line?.["reason"]).toBe("SIGHUP");
    expect(line?.["problems"]).toEqual([
      `AI_CONFIG_FILE (${file}): routes.smart.targets: a route needs at least one target`,
      `AI_CONFIG_FILE (${file}): limits.maxMessages: Too small: expected number to be >0`,
    ]);
    await writeFile(file, "{ not json");
    expect(reloader.reload("SIGHUP")).toBe("invalid");
    expect(deps.config.get()).toBe(good);
  });

  it("does not swap when nothing changed, and reloads by poll", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const { file, deps, reloader } = await setup(route("p1"));
      const first = deps.config.get();
      expect(reloader.reload("SIGHUP")).toBe("unchanged");
      expect(deps.config.get()).toBe(first);
      const poller = new ConfigReloader({
        store: deps.config,
        env: { ENVIRONMENT: "development", DATA_DIR: fileDataDir(), AI_CONFIG_FILE: file },
        logger: deps.logger,
      });
      reloaders.push(poller);
      // Watch disabled by pointing at a config without a file; only the poll can see the change.
      deps.config.set({ ...first, configFile: undefined });
      poller.start();
      deps.config.set(first);
      await writeFile(file, JSON.stringify(route("p2")));
      vi.advanceTimersByTime(300_000);
      expect(deps.config.get().file.routes["smart"]?.targets[0]?.model).toBe("p2");
      expect(deps.logs.records().find((r) => r["msg"] === "config reloaded")?.["reason"]).toBe("poll");
    } finally {
      vi.useRealTimers();
    }
  });
});
