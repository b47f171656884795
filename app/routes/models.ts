import { Router } from "express";
import type { ConfigStore } from "../config/config-store";
import type { ChatGateway } from "../gateway/chat-gateway";

/** `GET /v1/models`: the aliases and targets the gateway routes, in OpenAI's list shape. */
export function modelRoutes(options: { gateway: ChatGateway; config: ConfigStore }): Router {
  const router = Router();
  router.get("/v1/models", function listModels(_req, res) {
    const models = options.gateway.router.listModels(options.config.get());
    res.json({
      object: "list",
      data: models.map((model) => ({ id: model.id, object: "model", created: 0, owned_by: model.ownedBy })),
    });
  });
  return router;
}
