import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";

/** An app listening on an ephemeral loopback port. */
export interface Listening {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts `app` on 127.0.0.1 with an ephemeral port. */
export async function listen(app: Express): Promise<Listening> {
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
