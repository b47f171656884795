import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { Construct } from "constructs";
import { checkImage, checkInteger, componentLabels } from "./_pod";
import { AiGatewayService, type AiGatewayServiceProps, SLOT_LABEL } from "./ai-gateway-service";

/** A blue-green slot. */
export type Slot = "blue" | "green";

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
   * Fixed replicas of the idle slot (0 parks it; raise it to test a release on the preview Service).
   * Sizing by role makes a promotion also resize both slots; prefer `blueReplicas` / `greenReplicas`.
   * @default 0
   */
  readonly idleSlotReplicas?: number;
  /**
   * Size of the blue slot whatever its role: `"autoscale"` (HPA between minReplicas and maxReplicas)
   * or a fixed count (0 parks it). Setting `blueReplicas` or `greenReplicas` sizes slots by colour
   * instead of by role, so a promotion changes nothing but the Services' selectors.
   * @default - by role (idleSlotReplicas) when neither is set; `"autoscale"` when only greenReplicas is
   */
  readonly blueReplicas?: SlotReplicas;
  /**
   * Size of the green slot whatever its role; see `blueReplicas`.
   * @default - by role (idleSlotReplicas) when neither is set; `"autoscale"` when only blueReplicas is
   */
  readonly greenReplicas?: SlotReplicas;
}

/** A slot's size: autoscaled, or a fixed number of replicas (0 parks it). */
export type SlotReplicas = number | "autoscale";

/**
 * Two gateway slots (`Blue`, `Green`) and two Services: `Resource` (named
 * `<name>`) selects the active slot, `Preview` (`<name>-preview`) the idle one.
 * Sized by colour (`blueReplicas`, `greenReplicas`), a promotion is only the
 * selector switch; sized by role (legacy), the active slot autoscales and the
 * idle one runs `idleSlotReplicas`.
 */
export class BlueGreenGateway extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly activeSlot: Slot;
  public readonly idleSlot: Slot;
  public readonly idleSlotReplicas: number;
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

  constructor(scope: Construct, id: string, props: BlueGreenGatewayProps) {
    super(scope, id);
    this.name = props.name ?? "ai-gateway";
    this.namespace = props.namespace ?? "default";
    this.activeSlot = props.activeSlot ?? "blue";
    this.idleSlot = this.activeSlot === "blue" ? "green" : "blue";
    this.idleSlotReplicas = props.idleSlotReplicas ?? 0;
    if (this.activeSlot !== "blue" && this.activeSlot !== "green") {
      throw new Error(
        `BlueGreenGateway: activeSlot ("${String(this.activeSlot)}") must be "blue" or "green"`,
      );
    }
    if (props.imageRepository.includes("@") || /:[^/]*$/.test(props.imageRepository)) {
      throw new Error(
        `BlueGreenGateway: imageRepository ("${props.imageRepository}") must not carry a tag; put tags in blueImageTag and greenImageTag`,
      );
    }
    checkInteger(
      "BlueGreenGateway",
      "idleSlotReplicas",
      this.idleSlotReplicas,
      0,
      "use 0 to park the idle slot",
    );
    const bySlot = props.blueReplicas !== undefined || props.greenReplicas !== undefined;
    const sizeOf = (which: Slot): SlotReplicas => {
      if (bySlot) return (which === "blue" ? props.blueReplicas : props.greenReplicas) ?? "autoscale";
      return which === this.activeSlot ? "autoscale" : this.idleSlotReplicas;
    };
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
    if (sizeOf(this.activeSlot) === 0) {
      throw new Error(
        `BlueGreenGateway: the active slot (${this.activeSlot}) has ${this.activeSlot}Replicas 0, so the Service would reach no pod; scale it first (${this.activeSlot}Replicas: "autoscale"), deploy, then make it active`,
      );
    }

    const slot = (which: Slot): AiGatewayService => {
      const tag = which === "blue" ? props.blueImageTag : props.greenImageTag;
      const image = `${props.imageRepository}:${tag}`;
      if (!tag) checkImage("BlueGreenGateway", `${which}ImageTag`, props.imageRepository);
      const size = sizeOf(which);
      return new AiGatewayService(this, which === "blue" ? "Blue" : "Green", {
        ...props,
        image,
        slot: which,
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
    service("Resource", this.serviceName, this.activeSlot, "active");
    service("Preview", this.previewServiceName, this.idleSlot, "preview");
  }
}
