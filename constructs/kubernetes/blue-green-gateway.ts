import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { Annotations } from "cdktf";
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
   * Fixed replicas of the idle slot. Promotion keeps the promoted slot's current
   * count and lets its HPA scale from there, so the idle slot should run at least
   * `minReplicas` pods when `activeSlot` flips. 0 parks it (synth warns): raise it
   * and apply before promoting, or the live Service has no pods.
   * @default 0
   */
  readonly idleSlotReplicas?: number;
}

/**
 * Two gateway slots (`Blue`, `Green`) and two Services: `Resource` (named
 * `<name>`) selects the active slot, `Preview` (`<name>-preview`) the idle one.
 * The active slot autoscales; the idle one runs `idleSlotReplicas`.
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

    const slot = (which: Slot): AiGatewayService => {
      const tag = which === "blue" ? props.blueImageTag : props.greenImageTag;
      const image = `${props.imageRepository}:${tag}`;
      if (!tag) checkImage("BlueGreenGateway", `${which}ImageTag`, props.imageRepository);
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
        throw new Error(
          `BlueGreenGateway: ${which}ImageTag ("${tag}") is not a valid image tag; use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-", for example "sha-1a2b3c4"`,
        );
      }
      const isActive = which === this.activeSlot;
      return new AiGatewayService(this, which === "blue" ? "Blue" : "Green", {
        ...props,
        image,
        slot: which,
        ...(isActive ? {} : { autoscalingEnabled: false, replicas: this.idleSlotReplicas }),
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

    const service = (serviceId: string, name: string, target: Slot) =>
      new ServiceV1(this, serviceId, {
        metadata: {
          name,
          namespace: this.namespace,
          labels: componentLabels(this.name, "ai-gateway"),
          annotations: { "ai-deploy-kit.io/serves-slot": target },
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
    const main = service("Resource", this.serviceName, this.activeSlot);
    const preview = service("Preview", this.previewServiceName, this.idleSlot);
    // Order of a promotion: the Services switch only once the promoted slot's
    // rollout is done, and the demoted slot scales down to idleSlotReplicas only
    // after the Services stopped sending it traffic.
    main.dependsOn = [this.active.deployment.fqn];
    preview.dependsOn = [this.active.deployment.fqn];
    this.idle.deployment.dependsOn = [main.fqn, preview.fqn];

    if (this.idleSlotReplicas === 0) {
      Annotations.of(this).addWarning(
        `BlueGreenGateway: the idle slot "${this.idleSlot}" is parked at 0 replicas; promotion keeps the promoted slot's replica count and an HPA never scales up from 0, so promoting needs two applies: first raise idleSlotReplicas to at least minReplicas (${this.active.minReplicas}) and apply, then flip activeSlot`,
      );
    } else if (this.idleSlotReplicas < this.active.minReplicas) {
      Annotations.of(this).addWarning(
        `BlueGreenGateway: the idle slot "${this.idleSlot}" runs ${this.idleSlotReplicas} replica(s), fewer than minReplicas (${this.active.minReplicas}); right after a promotion it serves all traffic with ${this.idleSlotReplicas} pod(s) until its HPA scales up`,
      );
    }
  }
}
