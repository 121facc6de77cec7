import { expect, it } from "vitest";
import { createNotifier } from "runhooks";
import { sampleEvents, testFormatter } from "runhooks/testing";
import { mattermost } from "./mattermost.js";

// The published contract: every fixture event renders, within limits, deterministically.
testFormatter(mattermost, {
  check: (message) => {
    expect(message.body).toHaveProperty("text");
    expect(message.body).toHaveProperty("attachments");
  },
});

it("registers per notifier and escapes user text", () => {
  const notifier = createNotifier({ formatters: [mattermost] });
  const event = {
    ...sampleEvents().aborted,
    run: { ...sampleEvents().aborted.run, name: "*prod* @channel" },
  };
  const body = JSON.parse(notifier.preview(event, "mattermost").body) as { text: string };
  expect(body.text).toBe("\\*prod\\* \\@channel: aborted");
  expect(() => createNotifier().preview(event, "mattermost")).toThrow(/unknown format "mattermost"/);
  void notifier.close();
});
