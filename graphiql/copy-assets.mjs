// Copies the pinned browser bundles from node_modules (installed by `npm ci` from
// package-lock.json) into service/graphiql/static/vendor, which the service serves itself.
// Run by `make install` and the Dockerfile; the copied files are not kept in git.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "service", "graphiql", "static", "vendor");
const pinned = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies;

// [package, file inside the package, name served under /graphiql/vendor/]
const files = [
  ["react", "umd/react.production.min.js", "react.production.min.js"],
  ["react-dom", "umd/react-dom.production.min.js", "react-dom.production.min.js"],
  ["graphiql", "graphiql.min.js", "graphiql.min.js"],
  ["graphiql", "graphiql.min.css", "graphiql.min.css"],
  ["@graphiql/plugin-explorer", "dist/index.umd.js", "plugin-explorer.umd.js"],
  ["@graphiql/plugin-explorer", "dist/style.css", "plugin-explorer.css"],
];

rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
const versions = {};
for (const [name, file, served] of files) {
  const root = join(here, "node_modules", ...name.split("/"));
  const meta = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const version = meta.version;
  if (version !== pinned[name]) {
    throw new Error(`${name} ${version} is installed but ${pinned[name]} is pinned: run npm ci`);
  }
  // The bundles point at source maps that are not copied; drop the reference.
  const text = readFileSync(join(root, file), "utf8").replace(/\n\/[/*]# sourceMappingURL=\S+\s*$/, "\n");
  writeFileSync(join(target, served), text);
  versions[name] = { version, license: meta.license };
}
writeFileSync(join(target, "versions.json"), JSON.stringify(versions, null, 2) + "\n");
console.log(`GraphiQL assets copied to ${target}`);
