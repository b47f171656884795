import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { environmentConfig } from "../../stacks/environments";
import {
  checkEnvironment,
  checkSlot,
  nextSteps,
  PromoteError,
  type Slot,
  setActiveSlot,
} from "./active-slot";
import { type Cluster, checkPromotion, kubectlCluster } from "./gate";

/** The gateway's base name in the stacks (BlueGreenGateway's default). */
const GATEWAY_NAME = "ai-gateway";

/** Where the commands write; tests capture it. */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** @default kubectl against the current context */
  readonly cluster?: Cluster;
}

const consoleIo: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

const USAGE = {
  promote:
    "usage: npm run promote -- --env <development|staging|production> --slot <blue|green> [--gate auto|cluster|offline] [--check] [--file <environments.ts>]",
  rollback:
    "usage: npm run rollback -- --env <development|staging|production> [--gate auto|cluster|offline] [--file <environments.ts>]",
} as const;

const GATES = ["auto", "cluster", "offline"] as const;

/**
 * `npm run promote` and `npm run rollback`: switch an environment's active
 * slot in stacks/environments.ts (one line, reviewed and merged like any
 * change), refusing unless the target slot passes the gate. With a reachable
 * cluster the gate is `kubectl rollout status`, the Deployment's counts and a
 * smoke chat through the Service that selects the target now; offline the
 * Terraform precondition on the main Service does the same check at plan and
 * apply. `--check` runs only the gate for the committed active slot (the
 * deploy workflow's step before applying a promotion).
 */
export async function runSwitch(
  command: "promote" | "rollback",
  argv: readonly string[],
  io: CliIo = consoleIo,
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        env: { type: "string" },
        ...(command === "promote" ? { slot: { type: "string" }, check: { type: "boolean" } } : {}),
        gate: { type: "string" },
        file: { type: "string" },
      },
      strict: true,
    }));
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE[command]}`);
    return 1;
  }
  const environment = values["env"] as string | undefined;
  const file = (values["file"] as string | undefined) ?? "stacks/environments.ts";
  const gate = (values["gate"] as string | undefined) ?? "auto";
  const check = values["check"] === true;
  try {
    if (!environment) throw new PromoteError(`--env is required\n${USAGE[command]}`);
    checkEnvironment(environment);
    if (!(GATES as readonly string[]).includes(gate)) {
      throw new PromoteError(`unknown --gate "${gate}"; use ${GATES.join(", ")}`);
    }
    let source: string;
    try {
      source = readFileSync(file, "utf8");
    } catch (error) {
      throw new PromoteError(
        `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"}); run ${command} from the project root or pass --file`,
      );
    }
    // The committed active slot: setActiveSlot reports it as `previous` whatever it is asked to set.
    const committed = setActiveSlot(source, environment, "blue", file).previous;
    let target: Slot;
    if (command === "rollback") target = committed === "blue" ? "green" : "blue";
    else if (values["slot"] === undefined && check) target = committed;
    else {
      const slot = values["slot"] as string | undefined;
      if (!slot) throw new PromoteError(`--env and --slot are both required\n${USAGE[command]}`);
      checkSlot(slot);
      target = slot;
    }
    const edit = setActiveSlot(source, environment, target, file);
    if (!edit.changed && !check) {
      io.out(`${environment} already serves the ${target} slot; nothing changed.`);
      return 0;
    }

    const { namespace } = environmentConfig(environment);
    const cluster = io.cluster ?? kubectlCluster();
    const reachable = gate !== "offline" && (await cluster.reachable());
    if (gate === "cluster" && !reachable) {
      throw new PromoteError(
        "--gate cluster: no cluster is reachable with kubectl's current context; fix the context or use --gate offline (the plan's precondition gates the switch)",
      );
    }
    if (reachable) {
      if (check) {
        const live = await cluster.selectedSlot(namespace, GATEWAY_NAME);
        if (live === target) {
          io.out(`${environment}: ${GATEWAY_NAME} already selects ${target}; no switch to gate.`);
          return 0;
        }
        if (live === undefined) {
          // The first deploy creates the Services; the plan's precondition still waits for the rollout.
          io.out(`${environment}: no ${GATEWAY_NAME} Service yet (first deploy); no switch to gate.`);
          return 0;
        }
      }
      const result = await checkPromotion({ cluster, namespace, name: GATEWAY_NAME, target });
      for (const line of result.lines) io.out(`gate: ${line}`);
      if (!result.ok) {
        io.err(
          `${command}: refused: the ${target} slot of ${environment} is not ready to take traffic; nothing changed. Fix it (or its release) and run ${command} again.`,
        );
        return 1;
      }
    } else {
      io.out(
        `gate: no cluster checked (${gate === "offline" ? "--gate offline" : "kubectl reaches none"}); the plan gates the switch: the precondition on Service ${GATEWAY_NAME} refuses to plan or apply unless Deployment ${GATEWAY_NAME}-${target} is fully rolled out and available`,
      );
    }
    if (check) return 0;

    writeFileSync(file, edit.source);
    io.out(`${environment}: active slot ${edit.previous} → ${target} (${file})`);
    for (const note of edit.notes) io.out(`Note: ${note}`);
    io.out(nextSteps(environment, target, edit.previous, file));
    return 0;
  } catch (error) {
    if (error instanceof PromoteError) {
      io.err(`${command}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** The process entry of `npm run promote` / `npm run rollback`: runs the command on argv, sets the exit code. */
export function runCli(command: "promote" | "rollback"): void {
  runSwitch(command, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
