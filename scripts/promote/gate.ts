import { execFile } from "node:child_process";
import { join } from "node:path";

/** What a Deployment's spec and status say about its rollout (`kubectl get deployment -o json`). */
export interface RolloutStatus {
  readonly generation: number;
  readonly observedGeneration: number;
  /** `spec.replicas`: what the Deployment (or its HPA) wants. */
  readonly replicas: number;
  readonly updatedReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
}

/** The outcome of one command. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program with arguments and extra environment; the real one spawns it, tests record. */
export type Runner = (
  program: string,
  args: readonly string[],
  env?: Readonly<Record<string, string>>,
) => Promise<CommandResult>;

/** The cluster operations the gate needs; {@link kubectlCluster} implements them over kubectl. */
export interface Cluster {
  /** True when a cluster answers (kubectl has a context that reaches it). */
  reachable(): Promise<boolean>;
  /** The Deployment's rollout; undefined when it does not exist. */
  rollout(namespace: string, name: string): Promise<RolloutStatus | undefined>;
  /** Waits for the rollout to finish (`kubectl rollout status`). */
  waitForRollout(namespace: string, name: string, timeoutSeconds: number): Promise<CommandResult>;
  /** Which slot a Service selects now; undefined when the Service does not exist. */
  selectedSlot(namespace: string, service: string): Promise<string | undefined>;
  /** Health checks and one chat through a Service (scripts/smoke-test.sh). */
  smoke(namespace: string, service: string): Promise<CommandResult>;
}

/** Why a rollout is not fully done and available; empty when it is. */
export function rolloutProblems(name: string, status: RolloutStatus | undefined): string[] {
  if (!status) return [`Deployment ${name} does not exist`];
  const problems: string[] = [];
  if (status.replicas < 1) problems.push(`${name} wants ${status.replicas} replicas (parked)`);
  if (status.observedGeneration < status.generation) {
    problems.push(
      `${name}'s controller has not seen its latest spec (generation ${status.generation}, observed ${status.observedGeneration})`,
    );
  }
  for (const [field, value] of [
    ["updated", status.updatedReplicas],
    ["ready", status.readyReplicas],
    ["available", status.availableReplicas],
  ] as const) {
    if (value < status.replicas) problems.push(`${name} has ${value}/${status.replicas} ${field} replicas`);
  }
  return problems;
}

/** Where and what the gate checks. */
export interface GateOptions {
  readonly cluster: Cluster;
  readonly namespace: string;
  /** The gateway's base name (`ai-gateway`): Deployments `<name>-<slot>`, Services `<name>` and `<name>-preview`. */
  readonly name: string;
  /** The slot the main Service is to switch to. */
  readonly target: string;
  /** @default 300 */
  readonly rolloutTimeoutSeconds?: number;
}

/** What the gate found: `ok` false refuses the switch; `lines` say why, step by step. */
export interface GateResult {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

/**
 * The promotion gate against a reachable cluster: the target slot's Deployment
 * must be fully rolled out and available (after `kubectl rollout status`), and
 * a smoke chat through the Service that selects it now (the preview Service,
 * before the switch) must answer 200.
 */
export async function checkPromotion(options: GateOptions): Promise<GateResult> {
  const { cluster, namespace, name, target } = options;
  const deployment = `${name}-${target}`;
  const lines: string[] = [];
  const wait = await cluster.waitForRollout(namespace, deployment, options.rolloutTimeoutSeconds ?? 300);
  if (wait.code !== 0) {
    lines.push(
      `rollout status of ${deployment}: ${(wait.stderr || wait.stdout).trim() || `exit ${wait.code}`}`,
    );
  }
  const problems = rolloutProblems(deployment, await cluster.rollout(namespace, deployment));
  if (problems.length > 0 || wait.code !== 0) {
    return { ok: false, lines: [...lines, ...problems] };
  }
  lines.push(`${deployment} is fully rolled out and available`);
  const live = await cluster.selectedSlot(namespace, name);
  // Before the switch the target sits behind the preview Service; a re-run after it, behind the live one.
  const service = live === target ? name : `${name}-preview`;
  const smoke = await cluster.smoke(namespace, service);
  if (smoke.code !== 0) {
    return {
      ok: false,
      lines: [...lines, `smoke test through ${service} failed: ${(smoke.stderr || smoke.stdout).trim()}`],
    };
  }
  lines.push(`smoke test through ${service} passed`);
  return { ok: true, lines };
}

/** Spawns the program; never throws (a missing program is exit 127). */
export const spawnRunner: Runner = (program, args, env = {}) =>
  new Promise((resolve) => {
    execFile(
      program,
      [...args],
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60 * 1000 },
      (error, stdout, stderr) => {
        const code =
          error === null
            ? 0
            : typeof (error as NodeJS.ErrnoException).code === "number"
              ? ((error as unknown as { code: number }).code as number)
              : (error as NodeJS.ErrnoException).code === "ENOENT"
                ? 127
                : 1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });

/** Options of {@link kubectlCluster}. */
export interface KubectlOptions {
  readonly run?: Runner;
  /** @default "kubectl" */
  readonly kubectl?: string;
  /** The smoke-test script. @default scripts/smoke-test.sh of this checkout */
  readonly smokeScript?: string;
}

/** The cluster through kubectl (the credentials are whatever kubectl's current context has). */
export function kubectlCluster(options: KubectlOptions = {}): Cluster {
  const run = options.run ?? spawnRunner;
  const kubectl = options.kubectl ?? "kubectl";
  const smokeScript = options.smokeScript ?? join(__dirname, "..", "smoke-test.sh");
  return {
    reachable: async () => (await run(kubectl, ["version", "--request-timeout=5s", "-o", "json"])).code === 0,
    rollout: async (namespace, name) => {
      const result = await run(kubectl, ["-n", namespace, "get", "deployment", name, "-o", "json"]);
      if (result.code !== 0) return undefined;
      const body = JSON.parse(result.stdout) as {
        metadata?: { generation?: number };
        spec?: { replicas?: number };
        status?: Partial<Record<keyof RolloutStatus, number>>;
      };
      const status = body.status ?? {};
      return {
        generation: body.metadata?.generation ?? 0,
        observedGeneration: status.observedGeneration ?? 0,
        replicas: body.spec?.replicas ?? 1,
        updatedReplicas: status.updatedReplicas ?? 0,
        readyReplicas: status.readyReplicas ?? 0,
        availableReplicas: status.availableReplicas ?? 0,
      };
    },
    waitForRollout: (namespace, name, timeoutSeconds) =>
      run(kubectl, [
        "-n",
        namespace,
        "rollout",
        "status",
        `deployment/${name}`,
        `--timeout=${timeoutSeconds}s`,
      ]),
    selectedSlot: async (namespace, service) => {
      const result = await run(kubectl, [
        "-n",
        namespace,
        "get",
        "service",
        service,
        "-o",
        "jsonpath={.spec.selector.ai-deploy-kit\\.io/slot}",
      ]);
      return result.code === 0 && result.stdout.trim() ? result.stdout.trim() : undefined;
    },
    smoke: (namespace, service) => run("bash", [smokeScript, namespace, service, "18090"]),
  };
}
