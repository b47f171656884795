import { Router } from "express";

/** `/health/live`: answers while the event loop does; checks no dependency. */
export function healthRoutes(): Router {
  const router = Router();
  router.get("/health/live", function live(_req, res) {
    res.setHeader("cache-control", "no-store");
    res.status(200).json({ status: "ok" });
  });
  return router;
}
