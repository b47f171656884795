// The library surface: `import { ... } from "ai-deploy-kit/constructs"`.
export * from "./docker/local-ai-environment";
export * from "./kubernetes/ai-gateway-service";
export * from "./kubernetes/app-secrets";
export * from "./kubernetes/blue-green-gateway";
export * from "./kubernetes/chroma-store";
export * from "./kubernetes/destroy-protection";
export * from "./kubernetes/gateway-ingress";
export * from "./kubernetes/gateway-monitoring";
export * from "./kubernetes/kit-policy";
export * from "./kubernetes/pgvector-database";
export * from "./kubernetes/postgres-app-role";
export * from "./kubernetes/postgres-backup";
export * from "./kubernetes/redis-cache";
export * from "./kubernetes/secret-source";
