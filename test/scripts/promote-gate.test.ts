import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runSwitch } from "../../scripts/promote/cli";
import { type CommandResult, kubectlCluster, type Runner, rolloutProblems } from "../../scripts/promote/gate";

const projectRoot = resolve(__dirname, "../..");
const real = readFileSync(join(projectRoot, "stacks/environments.ts"), "utf8");

/** `kubectl get deployment -o json` as the API server answers it, trimmed to the fields the gate reads. */
function deploymentJson(replicas: number, status: Record<string, number>, generation = 4): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "ai-gateway-green", namespace: "ai-production", generation },
    spec: { replicas },
    status: { observedGeneration: generation, replicas, ...status },
  });
}

const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string, code = 1): CommandResult => ({ code, stdout: "", stderr });

/** A recorded kubectl: answers by command line, records every call. */
function recordedKubectl(answers: Record<string, CommandResult>): { run: Runner; calls: string[] } {
  const calls: string[] = [];
  const run: Runner = async (program, args) => {
    const line = [program, ...args].join(" ");
    calls.push(line);
    for (const [pattern, answer] of Object.entries(answers)) if (line.includes(pattern)) return answer;
    return fail(`unrecorded: ${line}`);
  };
  return { run, calls };
}

const healthy = {
  "version --request-timeout": ok("{}"),
  "rollout status deployment/ai-gateway-green": ok('deployment "ai-gateway-green" successfully rolled out'),
  "get deployment ai-gateway-green": ok(
    deploymentJson(3, { updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }),
  ),
  "get service ai-gateway": ok("blue"),
  "smoke-test.sh ai-production ai-gateway-preview": ok(
    "smoke-test: ai-gateway-preview in ai-production is healthy",
  ),
};

describe("rolloutProblems", () => {
  it("names every way a Deployment is not fully rolled out", () => {
    expect(
      rolloutProblems("ai-gateway-green", {
        generation: 5,
        observedGeneration: 4,
        replicas: 3,
        updatedReplicas: 1,
        readyReplicas: 2,
        availableReplicas: 2,
      }),
    ).toEqual([
      "ai-gateway-green's controller has not seen its latest spec (generation 5, observed 4)",
      "ai-gateway-green has 1/3 updated replicas",
      "ai-gateway-green has 2/3 ready replicas",
      "ai-gateway-green has 2/3 available replicas",
    ]);
    expect(rolloutProblems("x", undefined)).toEqual(["Deployment x does not exist"]);
  });
});

describe("npm run promote / rollback with the gate against a recorded kubectl", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const fileWith = (source = real) => {
    const dir = mkdtempSync(join(tmpdir(), "promote-gate-"));
    dirs.push(dir);
    const file = join(dir, "environments.ts");
    writeFileSync(file, source);
    return file;
  };
  const run = async (
    command: "promote" | "rollback",
    args: string[],
    answers: Record<string, CommandResult>,
  ) => {
    const kubectl = recordedKubectl(answers);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runSwitch(command, args, {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      cluster: kubectlCluster({ run: kubectl.run, smokeScript: "smoke-test.sh" }),
    });
    return { code, out: out.join("\n"), err: err.join("\n"), calls: kubectl.calls };
  };

  it("refuses to promote to a slot whose Deployment is not fully rolled out, and leaves the file alone", async () => {
    const file = fileWith();
    const result = await run("promote", ["--env", "production", "--slot", "green", "--file", file], {
      ...healthy,
      "rollout status deployment/ai-gateway-green": fail(
        'error: timed out waiting for the condition\nWaiting for deployment "ai-gateway-green" rollout to finish: 1 of 3 updated replicas are available...',
      ),
      "get deployment ai-gateway-green": ok(
        deploymentJson(3, { updatedReplicas: 3, readyReplicas: 1, availableReplicas: 1 }),
      ),
    });
    expect(result.code).toBe(1);
    expect(result.out).toContain("gate: ai-gateway-green has 1/3 ready replicas");
    expect(result.err).toBe(
      "promote: refused: the green slot of production is not ready to take traffic; nothing changed. Fix it (or its release) and run promote again.",
    );
    expect(readFileSync(file, "utf8")).toBe(real);
    // Never smoke-tested a slot that is not rolled out.
    expect(result.calls.some((call) => call.includes("smoke-test.sh"))).toBe(false);
  });

  it("refuses when the Deployment is ready but the smoke chat through the preview Service fails", async () => {
    const file = fileWith();
    const result = await run("promote", ["--env", "production", "--slot", "green", "--file", file], {
      ...healthy,
      "smoke-test.sh ai-production ai-gateway-preview": fail(
        "smoke-test: the chat call answered 502 on ai-gateway-preview",
      ),
    });
    expect(result.code).toBe(1);
    expect(result.out).toContain("gate: ai-gateway-green is fully rolled out and available");
    expect(result.out).toContain(
      "gate: smoke test through ai-gateway-preview failed: smoke-test: the chat call answered 502 on ai-gateway-preview",
    );
    expect(readFileSync(file, "utf8")).toBe(real);
  });

  it("promotes a rolled-out slot that passes the smoke chat: one line changes", async () => {
    const file = fileWith();
    const result = await run("promote", ["--env", "production", "--slot", "green", "--file", file], healthy);
    expect(result.code).toBe(0);
    expect(result.calls).toContain(
      "kubectl -n ai-production rollout status deployment/ai-gateway-green --timeout=300s",
    );
    expect(result.calls).toContain("bash smoke-test.sh ai-production ai-gateway-preview 18090");
    expect(result.out).toContain("production: active slot blue → green");
    expect(readFileSync(file, "utf8")).toBe(
      real.replace(/(production: \{[\s\S]*?)activeSlot: "blue"/, '$1activeSlot: "green"'),
    );
  });

  it("rollback flips to the other slot through the same gate", async () => {
    const promoted = real.replace(/(production: \{[\s\S]*?)activeSlot: "blue"/, '$1activeSlot: "green"');
    const file = fileWith(promoted);
    const blue = Object.fromEntries(
      Object.entries(healthy).map(([pattern, answer]) => [pattern.replaceAll("green", "blue"), answer]),
    );
    const refused = await run("rollback", ["--env", "production", "--file", file], {
      ...blue,
      "get deployment ai-gateway-blue": ok(deploymentJson(0, {})),
    });
    expect(refused.code).toBe(1);
    expect(refused.out).toContain("gate: ai-gateway-blue wants 0 replicas (parked)");
    const rolled = await run("rollback", ["--env", "production", "--file", file], {
      ...blue,
      "get service ai-gateway": ok("green"),
    });
    expect(rolled.code).toBe(0);
    expect(rolled.out).toContain("production: active slot green → blue");
    expect(readFileSync(file, "utf8")).toBe(real);
  });

  it("--check gates the committed active slot without editing, and passes once the switch is live", async () => {
    const promoted = real.replace(/(production: \{[\s\S]*?)activeSlot: "blue"/, '$1activeSlot: "green"');
    const file = fileWith(promoted);
    const before = await run("promote", ["--env", "production", "--check", "--file", file], healthy);
    expect(before.code).toBe(0);
    expect(before.out).toContain("gate: smoke test through ai-gateway-preview passed");
    const after = await run("promote", ["--env", "production", "--check", "--file", file], {
      ...healthy,
      "get service ai-gateway": ok("green"),
    });
    expect(after.out).toBe("production: ai-gateway already selects green; no switch to gate.");
    const first = await run("promote", ["--env", "production", "--check", "--file", file], {
      ...healthy,
      "get service ai-gateway": fail('Error from server (NotFound): services "ai-gateway" not found'),
    });
    expect(first).toMatchObject({
      code: 0,
      out: "production: no ai-gateway Service yet (first deploy); no switch to gate.",
    });
    expect(readFileSync(file, "utf8")).toBe(promoted);
  });

  it("offline says the plan gates the switch; --gate cluster without a cluster refuses", async () => {
    const file = fileWith();
    const offline = await run("promote", ["--env", "production", "--slot", "green", "--file", file], {
      "version --request-timeout": fail("The connection to the server localhost:8080 was refused"),
    });
    expect(offline.code).toBe(0);
    expect(offline.out).toContain(
      "gate: no cluster checked (kubectl reaches none); the plan gates the switch: the precondition on Service ai-gateway refuses to plan or apply unless Deployment ai-gateway-green is fully rolled out and available",
    );
    const strict = await run("rollback", ["--env", "production", "--gate", "cluster", "--file", file], {
      "version --request-timeout": fail("no context", 127),
    });
    expect(strict.code).toBe(1);
    expect(strict.err).toContain("--gate cluster: no cluster is reachable");
  });
});
