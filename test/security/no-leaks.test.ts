import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { httpTransport } from "../../src/delivery/http-transport.js";
import type { DeliveryReport } from "../../src/delivery/types.js";
import { generateSecret } from "../../src/delivery/signing.js";
import { createNotifier, type NotifierWarning } from "../../src/notifier.js";
import type { RunhooksError } from "../../src/errors.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { LOOPBACK } from "../helpers/loopback.js";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe("secrets never leak", () => {
  it("no URL path, query token, secret or header value appears in errors, reports, warnings, logs, JSON or inspect output", async () => {
    // A receiver that fails in every way and echoes the request back in its error bodies.
    const receiver = await startReceiver({
      respond: (request) => {
        const status = request.path.includes("services")
          ? 404
          : request.path.includes("workflows")
            ? 500
            : request.path.includes("api/webhooks")
              ? 410
              : 400;
        return { status, body: `no_service ${request.path} ${JSON.stringify(request.headers)}` };
      },
    });
    cleanup.push(() => receiver.close());
    const dead = await startReceiver();
    await dead.close();
    const port = new URL(receiver.url).port;

    const SECRETS = {
      slackPath: "T0SLACKTEAM/B0SLACKBOT/SlackTokenXXXXXXXXXXXXXX",
      teamsSig: "TeamsSigSecretValue0123456789",
      discordToken: "DiscordTokenSecretValue_abcdef",
      authHeader: "Bearer AuthHeaderSecretValue",
      apiKey: "ApiKeySecretValue42",
      signing: generateSecret(),
    };
    const logged: string[] = [];
    const log = (level: string) => (message: string, data?: Record<string, unknown>) =>
      logged.push(`${level} ${message} ${JSON.stringify(data)}`);
    const notifier = createNotifier({
      network: LOOPBACK,
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 2 },
      logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    });
    cleanup.push(() => notifier.close({ timeoutMs: 1000 }));
    const reports: DeliveryReport[] = [];
    const warnings: NotifierWarning[] = [];
    const errors: RunhooksError[] = [];
    notifier.on("delivery", (r) => reports.push(r));
    notifier.on("warning", (w) => warnings.push(w));
    notifier.on("error", (e) => errors.push(e));

    const headers = { Authorization: SECRETS.authHeader, "X-Api-Key": SECRETS.apiKey };
    const hooks = await Promise.all([
      notifier.webhooks.create({
        name: "slack",
        url: `${receiver.url}/services/${SECRETS.slackPath}`,
        format: "slack",
        events: ["started", "finished"],
        global: true,
        headers,
        secret: SECRETS.signing,
      }),
      notifier.webhooks.create({
        name: "teams",
        url: `${receiver.url}/workflows/x/invoke?api-version=1&sig=${SECRETS.teamsSig}`,
        format: "teams",
        events: ["started", "finished"],
        global: true,
        headers,
      }),
      notifier.webhooks.create({
        name: "discord",
        url: `${receiver.url}/api/webhooks/123/${SECRETS.discordToken}`,
        format: "discord",
        events: ["started", "finished"],
        global: true,
      }),
      notifier.webhooks.create({
        name: "dead",
        url: `${dead.url}/services/${SECRETS.slackPath}`,
        format: "json",
        events: ["started", "finished"],
        global: true,
        headers,
      }),
      // A host name on loopback without the allow-list entry for it would be refused; this one goes
      // through a transport with the default guard below.
    ]);
    const guarded = createNotifier({
      transport: httpTransport(),
      logger: { error: log("error"), warn: log("warn"), debug: log("debug") },
    });
    cleanup.push(() => guarded.close({ timeoutMs: 1000 }));
    guarded.on("delivery", (r) => reports.push(r));
    await guarded.webhooks.create({
      name: "ssrf",
      url: `http://localhost:${port}/services/${SECRETS.slackPath}?sig=${SECRETS.teamsSig}`,
      format: "json",
      events: ["started"],
      global: true,
      headers,
    });

    const run = notifier.run({ id: "leak-run", testId: "t", name: "leaky", webhooks: ["no-such-webhook"] });
    run.started();
    run.finished({ score: 1 });
    run.finished();
    guarded.run({ id: "leak-run", testId: "t", name: "leaky" }).started();
    await notifier.flush();
    await guarded.flush();
    // A validation error for a URL with a secret in it.
    const invalid = await notifier.webhooks
      .create({
        name: "bad",
        url: `ftp://hooks.slack.com/services/${SECRETS.slackPath}`,
        format: "json",
        events: ["started"],
      })
      .catch((e: unknown) => e);

    const everything = [
      ...reports.map((r) => JSON.stringify(r)),
      ...reports.map((r) => inspect(r, { depth: 10 })),
      ...warnings.map((w) => JSON.stringify(w)),
      ...errors.map((e) => `${e.message} ${inspect(e, { depth: 10 })}`),
      ...logged,
      String(invalid),
      inspect(invalid, { depth: 10 }),
      ...hooks.map((h) => JSON.stringify(h)),
      ...hooks.map((h) => inspect(h, { depth: 10 })),
      JSON.stringify(await notifier.webhooks.list()),
      inspect(await notifier.webhooks.list(), { depth: 10 }),
      inspect(notifier, { depth: 10 }),
      JSON.stringify(notifier.stats()),
    ].join("\n");

    // The run really failed in all the ways above.
    expect(reports.some((r) => r.status === 404)).toBe(true);
    expect(reports.some((r) => r.status === 500)).toBe(true);
    expect(reports.some((r) => r.reason === "gone")).toBe(true);
    expect(reports.some((r) => r.error?.code === "ECONNREFUSED")).toBe(true);
    expect(reports.some((r) => r.error?.code === "ERR_ADDRESS_BLOCKED")).toBe(true);
    expect(warnings.map((w) => w.code)).toEqual(
      expect.arrayContaining(["unknown_webhook", "run_call_ignored", "webhook_disabled"]),
    );
    expect(logged.length).toBeGreaterThan(5);

    for (const [name, secret] of Object.entries(SECRETS)) {
      const needle = name === "signing" ? secret.slice(6, 30) : secret;
      expect(everything.includes(needle), `${name} leaked`).toBe(false);
    }
    for (const fragment of ["SlackTokenXXXX", "/services/", "sig=", "api/webhooks/123"]) {
      expect(everything.includes(fragment), `${fragment} leaked`).toBe(false);
    }
  });
});

describe("TLS verification is never off", () => {
  it("refuses a self-signed certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runhooks-tls-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-days",
        "1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    let hits = 0;
    const server = createServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (_req, res) => {
        hits += 1;
        res.end("ok");
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    const notifier = createNotifier({ network: LOOPBACK, retry: { retries: 0 } });
    cleanup.push(() => notifier.close({ timeoutMs: 500 }));
    const reports: DeliveryReport[] = [];
    notifier.on("delivery", (r) => reports.push(r));
    await notifier.webhooks.create({ name: "tls", url, format: "json", events: ["started"], global: true });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(hits).toBe(0);
    expect(reports).toEqual([expect.objectContaining({ ok: false, final: true, outcome: "failed" })]);
    expect(reports[0]?.error?.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it("has no option that turns it off", () => {
    // @ts-expect-error -- there is no such option, by design
    httpTransport({ rejectUnauthorized: false, network: LOOPBACK })
      .close()
      .catch(() => undefined);
    // @ts-expect-error -- nor a connect override
    httpTransport({ connect: { rejectUnauthorized: false }, network: LOOPBACK })
      .close()
      .catch(() => undefined);
  });
});
