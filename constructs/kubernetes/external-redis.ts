import type { Construct } from "constructs";
import { ExternalService, type ExternalServiceProps } from "./_external-service";
import type { IRedis } from "./data-services";

/** Props of {@link ExternalRedis}. */
export interface ExternalRedisProps extends ExternalServiceProps {
  /** @default 6379 */
  readonly port?: number;
  /** Connect over TLS (`rediss://`), as ElastiCache with in-transit encryption and Memorystore require. @default true */
  readonly tls?: boolean;
}

/**
 * A managed Redis (ElastiCache, Memorystore, Azure Cache…) for the gateway: its endpoint, the
 * Secret holding the AUTH password (`password` key, URL-safe) and the egress rule to it. Pass
 * it as `cache` wherever a `RedisCache` fits.
 */
export class ExternalRedis extends ExternalService implements IRedis {
  public readonly passwordKey = "password";
  public readonly tls: boolean;

  constructor(scope: Construct, id: string, props: ExternalRedisProps) {
    super(scope, id, props, {
      owner: "ExternalRedis",
      name: "external-redis",
      port: props.port ?? 6379,
      key: "password",
    });
    this.tls = props.tls ?? true;
  }
}
