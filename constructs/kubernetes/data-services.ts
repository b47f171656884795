// What the gateway needs to know about each data service, whether it runs in the
// cluster (PgvectorDatabase, RedisCache, ChromaStore) or is a managed service
// (ExternalPostgres, ExternalRedis, ExternalChroma): where it is, which Secret
// holds its credentials, and how the gateway's pods may reach it.
import type { IConstruct } from "constructs";

/** One peer of the gateway's egress NetworkPolicy rule towards a data service. */
export type DataServicePeer =
  | { readonly podSelector: { readonly matchLabels: Readonly<Record<string, string>> } }
  | { readonly ipBlock: { readonly cidr: string } };

/** What every data service gives its clients. */
export interface IDataService extends IConstruct {
  /** Namespace of the credentials Secret (the gateway must run in it to read it). */
  readonly namespace: string;
  /** Host name clients connect to. */
  readonly host: string;
  readonly port: number;
  /** Kubernetes Secret holding the credentials. */
  readonly secretName: string;
  /** Labels a client pod needs for the service's own NetworkPolicy to admit it ({} for a managed service). */
  readonly clientPodLabels: Readonly<Record<string, string>>;
  /** Where the gateway's egress rule lets its pods connect (on `port`). */
  readonly egressPeers: readonly DataServicePeer[];
}

/** A Postgres (with pgvector) the gateway's ledger uses. */
export interface IPostgres extends IDataService {
  readonly databaseName: string;
  readonly username: string;
  /** Key of the password in the Secret (reaches the gateway as `PGPASSWORD`). */
  readonly passwordKey: string;
  /** `sslmode` for `DATABASE_URL` (`require` / `verify-full` for managed services); undefined adds none. */
  readonly sslMode?: string;
}

/** A Redis the gateway's cache, limits and jobs use. */
export interface IRedis extends IDataService {
  /** Key of the password in the Secret; it must be URL-safe (it is expanded into `REDIS_URL`). */
  readonly passwordKey: string;
  /** TLS (`rediss://`), as managed Redis services require. */
  readonly tls?: boolean;
}

/** A Chroma the gateway's health checks (and vector features) use. */
export interface IVectorStore extends IDataService {
  /** Base URL, `http(s)://host:port`. */
  readonly url: string;
  /** Key of the auth token in the Secret (reaches the gateway as `CHROMA_TOKEN`). */
  readonly tokenKey: string;
}
