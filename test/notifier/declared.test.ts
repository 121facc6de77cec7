// Webhooks declared in code (createNotifier({ webhooks }), run({ webhooks: [inline] })): usable
// synchronously, right after construction, against a real loopback receiver.
import { afterEach, describe, expect, it } from "vitest";
import { isValidationError } from "../../src/errors.js";
import { createNotifier } from "../../src/notifier.js";
import { memoryStore } from "../../src/webhooks/store/memory.js";
import { LOOPBACK } from "../helpers/loopback.js";
import { receiverSetup } from "../helpers/notifier.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
const setup = receiverSetup(cleanup);
const info = { id: "run-decl", testId: "t-1", name: "checkout" };

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("createNotifier({ webhooks })", () => {
  it("delivers to a declared webhook from the first run call, with no await in between", async () => {
    const { receiver, notifier, warnings, errors } = await setup();
    const declaredNotifier = await setup({
      webhooks: [{ url: `${receiver.url}/ci?token=t0k3n`, format: "json", events: ["started", "finished"] }],
    });
    const run = declaredNotifier.notifier.run(info);
    run.started();
    run.finished({ stats: { requests: 3, codes: { "200": 3 } } });
    await declaredNotifier.notifier.flush();
    expect(receiver.requests.map((r) => (r.json() as { type: string }).type)).toEqual([
      "started",
      "finished",
    ]);
    expect(receiver.requests[0]?.path).toBe("/ci?token=t0k3n");
    expect([...warnings, ...declaredNotifier.warnings, ...errors, ...declaredNotifier.errors]).toEqual([]);
    await notifier.close();
  });

  it("fires for every event by default, and lists the webhook masked, with a stable derived id", async () => {
    const { receiver } = await setup();
    const url = `${receiver.url}/all?token=t0k3n`;
    const a = await setup({ webhooks: [{ url, format: "json" }] });
    const b = await setup({ webhooks: [{ url, format: "json" }] });
    const [listedA] = await a.notifier.webhooks.list();
    const [listedB] = await b.notifier.webhooks.list();
    expect(listedA?.id).toMatch(/^wh_/);
    // Two processes declaring the same webhook agree on its id (a shared backend's deliveries name it).
    expect(listedB?.id).toBe(listedA?.id);
    expect(listedA).toMatchObject({ global: true, enabled: true, url: `${receiver.url}/***` });
    expect(listedA?.events).toHaveLength(8);
    expect(listedA?.name).toBe(new URL(url).host);
  });

  it("can be changed and disabled through notifier.webhooks like a stored one", async () => {
    const { receiver } = await setup();
    const decl = await setup({
      webhooks: [{ id: "ci", url: `${receiver.url}/ci`, format: "json", events: ["started"] }],
    });
    expect((await decl.notifier.webhooks.update("ci", { enabled: false }))?.enabled).toBe(false);
    decl.notifier.run(info).started();
    await decl.notifier.flush();
    expect(receiver.requests).toHaveLength(0);
    expect(await decl.notifier.webhooks.remove("ci")).toBe(true);
    expect(await decl.notifier.webhooks.get("ci")).toBeUndefined();
  });

  it("throws a ValidationError naming the declaration's field, and never the URL", async () => {
    const { receiver } = await setup();
    const url = `${receiver.url}/x?token=s3cr3t`;
    for (const [webhooks, path] of [
      [[{ url, format: "nope" }], "options.webhooks[0].format"],
      [
        [
          { url, format: "json" },
          { url: "ftp://example.com/", format: "json" },
        ],
        "options.webhooks[1].url",
      ],
      [[{ url, format: "json", events: ["done"] }], "options.webhooks[0].events.0"],
      [
        [
          { url, format: "json" },
          { url, format: "json" },
        ],
        "options.webhooks[1]",
      ],
    ] as const) {
      const made = await setup({ webhooks: webhooks as never }).catch((e: unknown) => e);
      expect(isValidationError(made) && made.issues.map((i) => i.path)).toContain(path);
      expect((made as Error).message).not.toContain("s3cr3t");
    }
  });
});

describe("run({ webhooks: [inline definition] })", () => {
  it("delivers to an inline webhook for that run only, and events carry its id, never its URL", async () => {
    const { receiver, notifier, warnings } = await setup();
    const inline = {
      url: `${receiver.url}/adhoc?token=t0k3n`,
      format: "json",
      events: ["finished" as const],
    };
    const run = notifier.run({ ...info, webhooks: [inline] });
    run.finished();
    notifier.run({ ...info, id: "run-other" }).finished();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(1);
    const body = receiver.requests[0]?.json() as { data: { run: { id: string } } };
    expect(body.data.run.id).toBe("run-decl");
    expect(receiver.requests[0]?.body).not.toContain("t0k3n");
    expect(warnings).toEqual([]);
    // Ad hoc, not global: listed, but it fires only for the run that defined it.
    const listed = await notifier.webhooks.list({ global: false });
    expect(listed.map((w) => w.id)).toEqual([expect.stringMatching(/^wh_/)]);
    const seen: string[][] = [];
    notifier.bus.on("started", (event) => seen.push(event.run.webhooks ?? []));
    notifier.run({ ...info, id: "run-third", webhooks: [inline] }).started();
    expect(seen[0]?.[0]).toMatch(/^wh_/);
    expect(JSON.stringify(seen)).not.toContain("t0k3n");
  });

  it("mixes stored ids and inline definitions, and the same info twice means the same webhook", async () => {
    const { receiver, notifier } = await setup();
    const stored = await notifier.webhooks.create({
      name: "stored",
      url: `${receiver.url}/stored`,
      format: "json",
      events: ["started"],
    });
    const runInfo = {
      ...info,
      webhooks: [stored.id, { url: `${receiver.url}/inline`, format: "json", events: ["started" as const] }],
    };
    notifier.run(runInfo).started();
    notifier.run(runInfo).started(); // ignored: the run already started
    await notifier.flush();
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(["/inline", "/stored"]);
    expect(await notifier.webhooks.list()).toHaveLength(2);
  });

  it("refuses an inline webhook that says global, or a bad one, naming info.webhooks[i]", async () => {
    const { receiver, notifier } = await setup();
    const url = `${receiver.url}/x`;
    const global = thrown(() =>
      notifier.run({ ...info, webhooks: ["a", { url, format: "json", global: true }] }),
    );
    expect(isValidationError(global) && global.issues[0]?.path).toBe("info.webhooks[1].global");
    const bad = thrown(() => notifier.run({ ...info, webhooks: [{ url, format: "json", events: [] }] }));
    expect(isValidationError(bad) && bad.issues[0]?.path).toBe("info.webhooks[0].events");
    const badRun = thrown(() => notifier.run({ ...info, name: "", webhooks: [{ url, format: "json" }] }));
    expect(isValidationError(badRun) && badRun.issues[0]?.path).toBe("info.name");
    expect(await notifier.webhooks.list()).toEqual([]);
  });

  it("refuses an inline id, a definition given twice, and names a bad stored id by its own index", async () => {
    const { receiver, notifier } = await setup();
    const url = `${receiver.url}/x`;
    const withId = thrown(() => notifier.run({ ...info, webhooks: [{ id: "ci", url, format: "json" }] }));
    expect(isValidationError(withId) && withId.issues[0]?.path).toBe("info.webhooks[0].id");
    const twice = thrown(() =>
      notifier.run({ ...info, webhooks: [{ url, format: "json" }, "stored", { url, format: "json" }] }),
    );
    expect(isValidationError(twice) && twice.issues[0]?.path).toBe("info.webhooks[2]");
    expect(isValidationError(twice) && twice.issues[0]?.message).toContain("info.webhooks[0]");
    const badId = thrown(() => notifier.run({ ...info, webhooks: [{ url, format: "json" }, ""] }));
    expect(isValidationError(badId) && badId.issues[0]?.path).toBe("info.webhooks.1");
    expect(await notifier.webhooks.list()).toEqual([]);
  });

  it("keeps an inline webhook a 410 disabled disabled when the run's info comes again", async () => {
    const { receiver, notifier } = await setup({}, { respond: () => 410 });
    const runInfo = { ...info, webhooks: [{ url: `${receiver.url}/gone`, format: "json" }] };
    notifier.run(runInfo).started();
    await notifier.flush();
    const [gone] = await notifier.webhooks.list();
    expect(gone?.enabled).toBe(false);
    notifier.run(runInfo).finished();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(1);
    expect((await notifier.webhooks.get(gone?.id ?? ""))?.enabled).toBe(false);
  });
});

describe("a declared webhook with a stored one's id", () => {
  it("hides the stored one for every event and listing, and removing it removes both", async () => {
    const { receiver } = await setup();
    const store = memoryStore();
    const stored = await createNotifier({ network: LOOPBACK, store }).webhooks.create({
      name: "stored",
      url: `${receiver.url}/stored`,
      format: "json",
      events: ["started", "finished"],
      global: true,
    });
    const decl = await setup({
      store,
      webhooks: [{ id: stored.id, url: `${receiver.url}/declared`, format: "json", events: ["finished"] }],
    });
    const run = decl.notifier.run(info);
    run.started(); // the declared webhook is not subscribed to it, and the stored one is hidden
    run.finished();
    await decl.notifier.flush();
    expect(receiver.requests.map((r) => r.path)).toEqual(["/declared"]);
    expect((await decl.notifier.webhooks.list()).map((w) => w.url)).toEqual([`${receiver.url}/***`]);
    expect(await decl.notifier.webhooks.list({ event: "started" })).toEqual([]);
    expect(await decl.notifier.webhooks.remove(stored.id)).toBe(true);
    expect(await decl.notifier.webhooks.get(stored.id)).toBeUndefined();
  });

  it("refuses a webhooks option that is not a list, naming it", () => {
    const error = thrown(() => createNotifier({ webhooks: {} as never }));
    expect(isValidationError(error) && error.issues[0]?.path).toBe("options.webhooks");
  });
});
