// Copies the browser builds of the front-end packages into static/vendor/, which the server serves.
// node_modules/ and static/vendor/ are not committed: package-lock.json pins what lands here.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "static", "vendor");
mkdirSync(vendor, { recursive: true });
for (const file of ["uPlot.esm.js", "uPlot.min.css"]) {
  copyFileSync(join(root, "node_modules", "uplot", "dist", file), join(vendor, file));
}
console.log(`vendor: uPlot copied to ${vendor}`);
