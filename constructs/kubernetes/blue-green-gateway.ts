import { DataKubernetesResource } from "@cdktf/provider-kubernetes/lib/data-kubernetes-resource";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { Annotations, Fn, Op } from "cdktf";
import { Construct } from "constructs";
import { applyKitDefaults } from "../_kit-defaults";
import { checkImage, checkInteger, componentLabels } from "./_pod";
import { AiGatewayService, type AiGatewayServiceProps, SLOT_LABEL } from "./ai-gateway-service";

/** A blue-green slot. */
export type Slot = "blue" | "green";

/**
 * What one slot may set apart from the other: settings and resources. A change here rolls only
 * that slot, so a settings change can be verified on the preview slot before it takes traffic.
 */
export type SlotOverrides = Partial<
  Omit<
    AiGatewayServiceProps,
    | "image"
    | "slot"
    | "name"
    | "namespace"
    | "port"
    | "database"
    | "cache"
    | "vectorStore"
    | "secrets"
    | "replicas"
    | "autoscalingEnabled"
    | "minReplicas"
    | "maxReplicas"
  >
>;

/** Props of {@link BlueGreenGateway}: the gateway's props, with one image repository and a tag per slot. */
export interface BlueGreenGatewayProps extends Omit<AiGatewayServiceProps, "image" | "slot" | "replicas"> {
  /** Image repository without tag, for example `ghcr.io/acme/ai-gateway`. */
  readonly imageRepository: string;
  /** Tag the blue slot runs. */
  readonly blueImageTag: string;
  /** Tag the green slot runs. */
  readonly greenImageTag: string;
  /**
   * The slot the main Service sends traffic to; the preview Service selects the other.
   * Promotion and rollback change only this.
   * @default "blue"
   */
  readonly activeSlot?: Slot;
  /**
   * Size of the blue slot whatever its role: `"autoscale"` (HPA between minReplicas and maxReplicas
   * while live, idleMinReplicas and idleMaxReplicas while idle) or a fixed count (0 parks it). Slots
   * are sized by colour, so a promotion changes nothing but the Services' selectors. To bring a
   * parked slot into service, give it a fixed count of at least minReplicas first, and switch it to
   * `"autoscale"` in a later change: from 0 straight to `"autoscale"`, Terraform leaves the
   * HPA-owned Deployment at 0 (replicas are ignored once the HPA owns them) and an HPA never scales up from 0.
   * (The 0.1 role-based `idleSlotReplicas` is gone: write the idle slot's count here instead.)
   * @default "autoscale"
   */
  readonly blueReplicas?: SlotReplicas;
  /**
   * Size of the green slot whatever its role; see `blueReplicas`.
   * @default "autoscale"
   */
  readonly greenReplicas?: SlotReplicas;
  /**
   * HPA floor of an autoscaled slot while it is idle (the preview slot). Autoscaling follows the
   * live slot: both slots keep their HPA and only its bounds change with the role, in the same
   * apply as the selector switch, so a promoted slot autoscales with no second change.
   * @default minReplicas - a promotion hands the live Service a slot already at the live floor
   */
  readonly idleMinReplicas?: number;
  /**
   * HPA ceiling of an autoscaled slot while it is idle; usually smaller than maxReplicas, since
   * only smoke tests and the jobs it accepted before a flip reach it.
   * @default maxReplicas - the same bounds in both roles: a promotion then changes only the selectors
   */
  readonly idleMaxReplicas?: number;
  /** Settings and resources only the blue slot runs with. @default {} */
  readonly blueOverrides?: SlotOverrides;
  /** Settings and resources only the green slot runs with. @default {} */
  readonly greenOverrides?: SlotOverrides;
}

/** A slot's size: autoscaled, or a fixed number of replicas (0 parks it). */
export type SlotReplicas = number | "autoscale";

/**
 * Two gateway slots (`Blue`, `Green`) and two Services: `Resource` (named
 * `<name>`) selects the active slot, `Preview` (`<name>-preview`) the idle one.
 * Each slot is sized by colour (`blueReplicas`, `greenReplicas`), so a
 * promotion is only the selector switch.
 */
export class BlueGreenGateway extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly activeSlot: Slot;
  public readonly idleSlot: Slot;
  /** The blue slot's size: `"autoscale"` or a fixed count. */
  public readonly blueReplicas: SlotReplicas;
  /** The green slot's size: `"autoscale"` or a fixed count. */
  public readonly greenReplicas: SlotReplicas;
  public readonly idleMinReplicas: number;
  public readonly idleMaxReplicas: number;
  public readonly blue: AiGatewayService;
  public readonly green: AiGatewayService;
  public readonly active: AiGatewayService;
  public readonly idle: AiGatewayService;
  public readonly portName: string;
  public readonly port: number;
  public readonly memoryLimitBytes: number;
  /** The Service clients use. */
  public readonly serviceName: string;
  public readonly previewServiceName: string;
  /** The active slot's Deployment as the cluster reports it; the main Service's precondition reads it. */
  public readonly activeRollout: DataKubernetesResource;

  constructor(scope: Construct, id: string, props: BlueGreenGatewayProps) {
    super(scope, id);
    applyKitDefaults(this);
    this.name = props.name ?? "ai-gateway";
    this.namespace = props.namespace ?? "default";
    this.activeSlot = props.activeSlot ?? "blue";
    this.idleSlot = this.activeSlot === "blue" ? "green" : "blue";
    if (this.activeSlot !== "blue" && this.activeSlot !== "green") {
      throw new Error(
        `BlueGreenGateway: activeSlot ("${String(this.activeSlot)}") must be "blue" or "green"`,
      );
    }
    refuseRoleSizing(props, this.activeSlot, this.idleSlot);
    if (props.imageRepository.includes("@") || /:[^/]*$/.test(props.imageRepository)) {
      throw new Error(
        `BlueGreenGateway: imageRepository ("${props.imageRepository}") must not carry a tag; put tags in blueImageTag and greenImageTag`,
      );
    }
    this.blueReplicas = props.blueReplicas ?? "autoscale";
    this.greenReplicas = props.greenReplicas ?? "autoscale";
    const sizeOf = (which: Slot): SlotReplicas => (which === "blue" ? this.blueReplicas : this.greenReplicas);
    for (const which of ["blue", "green"] as const) {
      const size = sizeOf(which);
      if (size !== "autoscale") {
        checkInteger(
          "BlueGreenGateway",
          `${which}Replicas`,
          size,
          0,
          'use 0 to park the slot or "autoscale"',
        );
      }
    }
    const minReplicasHint = props.minReplicas ?? 2;
    this.idleMinReplicas = props.idleMinReplicas ?? minReplicasHint;
    this.idleMaxReplicas = props.idleMaxReplicas ?? Math.max(props.maxReplicas ?? 10, this.idleMinReplicas);
    checkInteger(
      "BlueGreenGateway",
      "idleMinReplicas",
      this.idleMinReplicas,
      1,
      "an HPA needs at least one replica",
    );
    checkInteger(
      "BlueGreenGateway",
      "idleMaxReplicas",
      this.idleMaxReplicas,
      1,
      "an HPA needs at least one replica",
    );
    if (this.idleMinReplicas > this.idleMaxReplicas) {
      throw new Error(
        `BlueGreenGateway: idleMinReplicas (${this.idleMinReplicas}) must not exceed idleMaxReplicas (${this.idleMaxReplicas})`,
      );
    }
    if (sizeOf(this.activeSlot) === 0) {
      throw new Error(
        `BlueGreenGateway: the active slot (${this.activeSlot}) has ${this.activeSlot}Replicas 0, so the Service would reach no pod; scale it first to a fixed count of at least minReplicas (${this.activeSlot}Replicas: ${minReplicasHint}; not straight to "autoscale": an HPA never scales up from 0), deploy, then make it active`,
      );
    }

    const slot = (which: Slot): AiGatewayService => {
      const tag = which === "blue" ? props.blueImageTag : props.greenImageTag;
      // A digest (`sha256:<64 hex>`) pins the very bytes: repository@sha256:….
      const digest = /^sha256:[a-f0-9]{64}$/.test(tag);
      const image = digest ? `${props.imageRepository}@${tag}` : `${props.imageRepository}:${tag}`;
      if (!tag) checkImage("BlueGreenGateway", `${which}ImageTag`, props.imageRepository);
      if (!digest && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
        throw new Error(
          `BlueGreenGateway: ${which}ImageTag ("${tag}") is not a valid image tag; use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-", for example "sha-1a2b3c4"`,
        );
      }
      const size = sizeOf(which);
      // An autoscaled idle slot keeps its HPA with the idle bounds; promotion only swaps the bounds.
      const idleBounds =
        size === "autoscale" && which === this.idleSlot
          ? { minReplicas: this.idleMinReplicas, maxReplicas: this.idleMaxReplicas }
          : {};
      return new AiGatewayService(this, which === "blue" ? "Blue" : "Green", {
        ...props,
        ...(which === "blue" ? props.blueOverrides : props.greenOverrides),
        image,
        slot: which,
        ...idleBounds,
        ...(size === "autoscale" ? {} : { autoscalingEnabled: false, replicas: size }),
      });
    };
    this.blue = slot("blue");
    this.green = slot("green");
    this.active = this.activeSlot === "blue" ? this.blue : this.green;
    this.idle = this.activeSlot === "blue" ? this.green : this.blue;
    this.portName = this.active.portName;
    this.port = this.active.port;
    this.memoryLimitBytes = this.active.memoryLimitBytes;
    this.serviceName = this.name;
    this.previewServiceName = `${this.name}-preview`;

    const service = (serviceId: string, name: string, target: Slot, role: "active" | "preview") =>
      new ServiceV1(this, serviceId, {
        metadata: {
          name,
          namespace: this.namespace,
          labels: componentLabels(this.name, "ai-gateway"),
          // The role, not the slot: a promotion must change nothing but the selector.
          annotations: { "ai-deploy-kit.io/role": role },
        },
        spec: {
          type: "ClusterIP",
          selector: {
            "app.kubernetes.io/name": "ai-gateway",
            "app.kubernetes.io/instance": this.name,
            [SLOT_LABEL]: target,
          },
          port: [{ name: this.portName, port: this.port, targetPort: this.portName, protocol: "TCP" }],
        },
      });
    // The gate: the main Service switches only to a slot whose Deployment is fully rolled out and
    // available. Terraform reads the target's status (after applying it, when it changes in the
    // same run) and refuses the plan or apply otherwise, so a flip-only apply waits on it too.
    this.activeRollout = new DataKubernetesResource(this, "ActiveRollout", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: this.active.resourceName, namespace: this.namespace },
      dependsOn: [this.active.deployment],
    });
    const object = this.activeRollout.object;
    const field = (path: string[]) => Fn.try([Fn.lookupNested(object, path), 0]);
    const wanted = field(["spec", "replicas"]);
    const rolledOut = Op.and(
      Op.and(
        Op.gte(wanted, 1),
        Op.gte(field(["status", "observedGeneration"]), field(["metadata", "generation"])),
      ),
      Op.and(
        Op.gte(field(["status", "updatedReplicas"]), wanted),
        Op.gte(field(["status", "availableReplicas"]), wanted),
      ),
    );
    const main = service("Resource", this.serviceName, this.activeSlot, "active");
    main.lifecycle = {
      precondition: [
        {
          condition: rolledOut,
          errorMessage: `The slot ${this.serviceName} switches to is not fully rolled out and available (updated and available replicas below the wanted count), so the Service keeps its selector; check kubectl -n ${this.namespace} rollout status deployment/${this.name}-<slot>, fix it or roll back, and apply again`,
        },
      ],
    };
    service("Preview", this.previewServiceName, this.idleSlot, "preview");
    // A promotion is the selector switch alone: no ordering (depends_on would change with the
    // active slot) and nothing to resize.
    const minReplicas = this.active.minReplicas;
    const activeSize = sizeOf(this.activeSlot);
    if (activeSize !== "autoscale" && activeSize < minReplicas) {
      Annotations.of(this).addWarning(
        `BlueGreenGateway: the active slot "${this.activeSlot}" runs a fixed ${activeSize} replica(s), fewer than minReplicas (${minReplicas}); set ${this.activeSlot}Replicas to "autoscale" once it serves well (the HPA takes over from the running count)`,
      );
    }
  }
}

/**
 * The 0.1 role-based sizing (`idleSlotReplicas`: the active slot autoscaled, the idle one ran a
 * fixed count, and a promotion resized both) is gone; TypeScript no longer accepts the prop, and a
 * JavaScript caller gets this instead of a silently different size.
 */
function refuseRoleSizing(props: BlueGreenGatewayProps, activeSlot: Slot, idleSlot: Slot): void {
  const legacy = (props as { readonly idleSlotReplicas?: unknown }).idleSlotReplicas;
  if (legacy === undefined) return;
  throw new Error(
    `BlueGreenGateway: idleSlotReplicas (${JSON.stringify(legacy)}) was removed; size each slot by colour instead: ${activeSlot}Replicas: "autoscale", ${idleSlot}Replicas: ${JSON.stringify(legacy)} (a fixed count; 0 parks it) or "autoscale" for both, so a promotion only switches the Services`,
  );
}
