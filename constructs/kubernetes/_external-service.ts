// The shared part of ExternalPostgres, ExternalRedis and ExternalChroma: a managed
// endpoint outside the cluster, its credentials Secret and the egress rule to it.
import { isIP } from "node:net";
import { Construct } from "constructs";
import { applyKitDefaults } from "../_kit-defaults";
import { checkInteger, checkName, checkNamespace } from "./_pod";
import type { DataServicePeer } from "./data-services";
import { SecretSource } from "./secret-source";

/** The props every external data service accepts. */
export interface ExternalServiceProps {
  /** Host name (or address) of the managed endpoint, without scheme or port, e.g. `ai.abc123.eu-west-1.rds.amazonaws.com`. */
  readonly host: string;
  /**
   * Address ranges (CIDR) the endpoint lives in: the gateway's NetworkPolicy lets its pods
   * connect there on `port` and nowhere else for this service, e.g. the VPC's private subnets.
   */
  readonly egressCidrs: readonly string[];
  /** Namespace of the credentials Secret; the gateway must be in the same one. @default "default" */
  readonly namespace?: string;
  /**
   * Name of the Secret this construct creates (Terraform-variable source) and the prefix of
   * its variable (`<name>_<key>`).
   * @default - the kind's name, e.g. "external-postgres"
   */
  readonly name?: string;
  /**
   * Where the credentials come from: `SecretSource.fromExistingSecret(name)` (a Secret you
   * manage, e.g. synced by External Secrets) or `SecretSource.fromTerraformVariables()`, which
   * creates `<name>-auth` from a required sensitive variable.
   * @default SecretSource.fromTerraformVariables()
   */
  readonly credentials?: SecretSource;
}

/** Resolved fields of an external service. */
export abstract class ExternalService extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly host: string;
  public readonly port: number;
  public readonly secretName: string;
  /** A managed service runs no NetworkPolicy of the kit's: clients need no labels. */
  public readonly clientPodLabels: Readonly<Record<string, string>> = {};
  public readonly egressPeers: readonly DataServicePeer[];

  protected constructor(
    scope: Construct,
    id: string,
    props: ExternalServiceProps,
    kind: { readonly owner: string; readonly name: string; readonly port: number; readonly key: string },
  ) {
    super(scope, id);
    applyKitDefaults(this);
    const owner = kind.owner;
    this.name = props.name ?? kind.name;
    this.namespace = props.namespace ?? "default";
    this.port = kind.port;
    checkName(owner, "name", this.name);
    checkNamespace(owner, this.namespace);
    checkInteger(owner, "port", this.port, 1, "use the endpoint's port");
    if (this.port > 65535) throw new Error(`${owner}: port (${this.port}) must be at most 65535`);
    if (
      typeof props.host !== "string" ||
      !/^[A-Za-z0-9.-]+$/.test(props.host) ||
      props.host.startsWith("-")
    ) {
      throw new Error(
        `${owner}: host (${JSON.stringify(props.host)}) must be a host name or address without scheme or port, e.g. "ai.abc123.eu-west-1.rds.amazonaws.com"`,
      );
    }
    this.host = props.host;
    const cidrs = props.egressCidrs ?? [];
    if (cidrs.length === 0) {
      throw new Error(
        `${owner}: egressCidrs is empty; list the address ranges the endpoint lives in (e.g. the VPC's private subnets "10.0.0.0/16") so the gateway's NetworkPolicy can reach it`,
      );
    }
    for (const cidr of cidrs) {
      const [address = "", bits, ...rest] = cidr.split("/");
      const max = isIP(address) === 6 ? 128 : 32;
      if (
        rest.length > 0 ||
        isIP(address) === 0 ||
        bits === undefined ||
        !/^\d+$/.test(bits) ||
        Number(bits) > max
      ) {
        throw new Error(
          `${owner}: egressCidrs contains "${cidr}", which is not a CIDR range; write e.g. "10.0.0.0/16"`,
        );
      }
    }
    this.egressPeers = cidrs.map((cidr) => ({ ipBlock: { cidr } }));
    const source = props.credentials ?? SecretSource.fromTerraformVariables();
    if (source.kind === "aws-secrets-manager") {
      throw new Error(
        `${owner}: credentials (SecretSource.fromAwsSecretsManager) is not supported; sync the secret into a Kubernetes Secret and use SecretSource.fromExistingSecret(name), or SecretSource.fromTerraformVariables()`,
      );
    }
    const bound = source.bind(new Construct(this, "Auth"), {
      secretName: `${this.name}-auth`,
      namespace: this.namespace,
      keys: [kind.key],
      defaultPrefix: this.name,
      describe: () => `${owner} ${this.name} ${kind.key} (sensitive; required)`,
      requiredKeys: [kind.key],
      // Redis passwords are expanded into REDIS_URL unescaped.
      urlSafe: kind.owner === "ExternalRedis",
    });
    this.secretName = bound.secretName ?? `${this.name}-auth`;
  }
}
