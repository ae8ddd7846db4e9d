// Copies the browser builds of the front-end packages into static/vendor/, which the server serves.
// node_modules/ and static/vendor/ are not committed: package-lock.json pins what lands here.
// uPlot's type declarations go beside its module, so `tsc --checkJs` reads the imports of
// "../vendor/uPlot.esm.js" against them instead of type-checking the library's own code.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "static", "vendor");
const uplot = join(root, "node_modules", "uplot", "dist");
mkdirSync(vendor, { recursive: true });
for (const file of ["uPlot.esm.js", "uPlot.min.css"]) copyFileSync(join(uplot, file), join(vendor, file));
copyFileSync(join(uplot, "uPlot.d.ts"), join(vendor, "uPlot.esm.d.ts"));
console.log(`vendor: uPlot copied to ${vendor}`);
