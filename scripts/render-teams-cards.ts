/**
 * Renders the Teams card of every sample event (and of the sample variants) with Microsoft's Adaptive Cards renderer (the
 * `adaptivecards` package) in headless Chromium and saves one PNG per event as
 * docs/images/teams-<event>.png (teams-<variant>.png), which docs/formats.md shows.
 *
 *   node --import tsx scripts/render-teams-cards.ts
 *
 * Needs Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`; CHROMIUM_PATH overrides the
 * path) and, for the emoji in the titles, an emoji font (Debian: `fonts-noto-color-emoji`). Works
 * offline: the page is built from local files only, and any request the browser tries to make to
 * anything but a local file, about:blank, data: or 127.0.0.1 is blocked and fails the run.
 * Re-run it when the Teams formatter or the sample events change; the docs test does not check the
 * pictures.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { EVENT_NAMES, createNotifier } from "../src/index.js";
import type { TeamsMessage } from "../src/formatters/index.js";
import { sampleEventVariants, sampleEvents } from "../src/testing/fixtures.js";
import type { RunEvent } from "../src/events.js";
import { VARIANTS } from "./formats-doc.js";
import { CHROMIUM, CHROMIUM_ARGS } from "./chromium.js";

const OUT_DIR = fileURLToPath(new URL("../docs/images/", import.meta.url));
/** CSS width of the picture; the card fills it minus the chat-bubble margin. */
const WIDTH = 600;

/**
 * A light host config close to Teams' light theme. The named colours the teams formatter uses —
 * Good, Attention, Warning, Accent — come out green, red, amber and blue.
 */
const HOST_CONFIG = {
  supportsInteractivity: true,
  fontTypes: {
    default: {
      fontFamily:
        "'Segoe UI', system-ui, 'Helvetica Neue', 'Liberation Sans', 'DejaVu Sans', sans-serif, 'Noto Color Emoji'",
      fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
      fontWeights: { lighter: 200, default: 400, bolder: 600 },
    },
    monospace: {
      fontFamily: "Consolas, 'Liberation Mono', 'DejaVu Sans Mono', monospace, 'Noto Color Emoji'",
      fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
      fontWeights: { lighter: 200, default: 400, bolder: 600 },
    },
  },
  spacing: { small: 4, default: 12, medium: 16, large: 20, extraLarge: 24, padding: 16 },
  separator: { lineThickness: 1, lineColor: "#E0E0E0" },
  containerStyles: {
    default: {
      backgroundColor: "#FFFFFF",
      foregroundColors: {
        default: { default: "#242424", subtle: "#616161" },
        dark: { default: "#000000", subtle: "#424242" },
        light: { default: "#FFFFFF", subtle: "#F0F0F0" },
        accent: { default: "#0F6CBD", subtle: "#115EA3" },
        good: { default: "#107C10", subtle: "#0E700E" },
        warning: { default: "#B87400", subtle: "#9A6100" },
        attention: { default: "#C4314B", subtle: "#A52A3F" },
      },
    },
  },
  actions: {
    maxActions: 5,
    spacing: "default",
    buttonSpacing: 8,
    showCard: { actionMode: "inline", inlineTopMargin: 16 },
    actionsOrientation: "horizontal",
    actionAlignment: "left",
  },
  factSet: {
    title: {
      color: "default",
      size: "default",
      isSubtle: false,
      weight: "bolder",
      wrap: true,
      maxWidth: 150,
    },
    value: { color: "default", size: "default", isSubtle: false, weight: "default", wrap: true },
    spacing: 12,
  },
};

/** Runs in the page (plain JavaScript): renders one card into #card and reports parse problems. */
const PAGE_SCRIPT = `
window.renderCard = (json, hostConfig) => {
  const card = new AdaptiveCards.AdaptiveCard();
  card.hostConfig = new AdaptiveCards.HostConfig(hostConfig);
  const context = new AdaptiveCards.SerializationContext();
  card.parse(json, context);
  const problems = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
  for (const event of card.validateProperties().validationEvents) problems.push(event.message);
  const element = card.render();
  const host = document.getElementById("card");
  host.replaceChildren();
  if (!element) return ["the renderer returned nothing", ...problems];
  host.appendChild(element);
  return problems;
};
`;

const PAGE_STYLE = `
html, body { margin: 0; padding: 0; background: #F5F5F5; }
#shot { width: ${WIDTH}px; box-sizing: border-box; padding: 12px; background: #F5F5F5; }
#card { background: #FFFFFF; border: 1px solid #E0E0E0; border-radius: 6px; overflow: hidden;
  box-shadow: 0 1px 2px rgba(0, 0, 0, 0.12); }
.ac-pushButton { font-family: 'Segoe UI', system-ui, 'Liberation Sans', 'DejaVu Sans', sans-serif;
  font-size: 14px; font-weight: 600; color: #242424; background: #FFFFFF; border: 1px solid #D1D1D1;
  border-radius: 4px; padding: 5px 12px; min-height: 32px; overflow: hidden; text-overflow: ellipsis; }
`;

/** Text for an inline <script>: nothing in it may close the element early. */
function inlineScript(code: string): string {
  return `<script>${code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--")}</script>`;
}

function readPackageFile(specifier: string): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    return readFileSync(require.resolve(specifier), "utf8");
  } catch {
    return undefined;
  }
}

/** Local origins the page may use; everything else is blocked. */
function isLocal(url: string): boolean {
  if (url === "about:blank" || url.startsWith("data:") || url.startsWith("file:")) return true;
  try {
    return new URL(url).hostname === "127.0.0.1";
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const adaptiveCards = readPackageFile("adaptivecards/dist/adaptivecards.min.js");
  if (adaptiveCards === undefined) throw new Error("adaptivecards is not installed (npm ci)");
  // Teams renders the card's markdown (**bold**, \* escapes); markdown-it is what the Adaptive Cards
  // renderer picks up from window.markdownit. It comes with typedoc; without it text shows as typed.
  const markdownIt = readPackageFile("markdown-it/dist/markdown-it.min.js");
  if (markdownIt === undefined) console.warn("markdown-it not found: card markdown is shown as typed");

  const html = [
    "<!doctype html>",
    '<html><head><meta charset="utf-8"><title>Teams cards</title>',
    `<style>${PAGE_STYLE}</style>`,
    inlineScript(adaptiveCards),
    markdownIt === undefined ? "" : inlineScript(markdownIt),
    inlineScript(PAGE_SCRIPT),
    '</head><body><div id="shot"><div id="card"></div></div></body></html>',
  ].join("\n");

  const userDataDir = mkdtempSync(join(tmpdir(), "runhooks-chromium-"));
  const blocked: string[] = [];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: WIDTH, height: 800 },
    deviceScaleFactor: 1,
    colorScheme: "light",
    locale: "en-US",
    timezoneId: "UTC",
    offline: true,
  });
  const notifier = createNotifier();
  try {
    await context.route("**/*", async (route) => {
      const url = route.request().url();
      if (isLocal(url)) {
        await route.continue();
      } else {
        blocked.push(url);
        await route.abort("blockedbyclient");
      }
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    await page.setContent(html, { waitUntil: "load" });

    mkdirSync(OUT_DIR, { recursive: true });
    const events = sampleEvents();
    const variants = sampleEventVariants();
    const cards: Array<[string, RunEvent]> = [
      ...EVENT_NAMES.map((name): [string, RunEvent] => [name, events[name]]),
      ...VARIANTS.map(([key, , name]): [string, RunEvent] => [name, variants[key]]),
    ];
    for (const [name, event] of cards) {
      const message = JSON.parse(notifier.preview(event, "teams").body) as TeamsMessage;
      const card = message.attachments[0]?.content;
      if (!card) throw new Error(`${name}: the Teams message has no card`);
      const problems = await page.evaluate(
        ([json, hostConfig]) =>
          (globalThis as unknown as { renderCard: (j: unknown, h: unknown) => string[] }).renderCard(
            json,
            hostConfig,
          ),
        [card, HOST_CONFIG] as const,
      );
      if (problems.length > 0) throw new Error(`${name}: the renderer reported: ${problems.join("; ")}`);
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { fonts: { ready: Promise<unknown> } } }).document.fonts
            .ready,
      );
      const file = join(OUT_DIR, `teams-${name}.png`);
      writeFileSync(file, await page.locator("#shot").screenshot({ animations: "disabled", caret: "hide" }));
      console.log(`wrote docs/images/teams-${name}.png`);
    }
    if (consoleErrors.length > 0) throw new Error(`the page logged errors: ${consoleErrors.join("; ")}`);
    if (blocked.length > 0) throw new Error(`blocked requests to: ${blocked.join(", ")}`);
  } finally {
    await notifier.close();
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

await main();
