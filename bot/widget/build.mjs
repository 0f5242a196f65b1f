// Builds dist/faqbot-widget.js from src/ (run by `make widget`).
//
// The bundle starts with a banner naming the SHA-256 of its inputs (src/ and package-lock.json),
// so a test can tell when the committed bundle was not rebuilt after a source change.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));

/** SHA-256 over the sorted source files and the lock file: "name\0content\0" each. */
export function sourceDigest() {
  const names = readdirSync(join(here, "src"))
    .filter((name) => name.endsWith(".js"))
    .sort()
    .map((name) => `src/${name}`);
  const hash = createHash("sha256");
  for (const name of [...names, "package-lock.json"]) {
    hash.update(`${name}\0`);
    hash.update(readFileSync(join(here, name)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const readJson = (...parts) => JSON.parse(readFileSync(join(here, ...parts), "utf8"));
const { version } = readJson("package.json");
const client = readJson("node_modules", "socket.io-client", "package.json");

await esbuild.build({
  entryPoints: [join(here, "src", "index.js")],
  outfile: join(here, "dist", "faqbot-widget.js"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019"],
  legalComments: "eof",
  banner: {
    js:
      `/*! faqbot-widget ${version} src-sha256:${sourceDigest()} */\n` +
      `/*! includes socket.io-client ${client.version} (${client.license} License) */`,
  },
  logLevel: "info",
});
