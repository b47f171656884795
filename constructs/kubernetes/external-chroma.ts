import type { Construct } from "constructs";
import { ExternalService, type ExternalServiceProps } from "./_external-service";
import type { IVectorStore } from "./data-services";

/** Props of {@link ExternalChroma}. */
export interface ExternalChromaProps extends ExternalServiceProps {
  /** @default 443 */
  readonly port?: number;
  /** `https` (default) or `http` for a Chroma inside a private network. @default "https" */
  readonly scheme?: "https" | "http";
}

/**
 * A Chroma run outside the cluster (a managed or shared instance): its URL, the Secret holding
 * the auth token (`token` key) and the egress rule to it. Pass it as `vectorStore` wherever a
 * `ChromaStore` fits.
 */
export class ExternalChroma extends ExternalService implements IVectorStore {
  public readonly tokenKey = "token";
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ExternalChromaProps) {
    super(scope, id, props, {
      owner: "ExternalChroma",
      name: "external-chroma",
      port: props.port ?? 443,
      key: "token",
    });
    this.url = `${props.scheme ?? "https"}://${this.host}:${this.port}`;
  }
}
