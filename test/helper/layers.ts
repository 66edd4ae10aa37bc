// An OCI layout of an image of many layers, for the overlay tests (test/helper/overlay.test.ts,
// and the VM's kernel without lowerdir+, test/vm).
import { tarOf } from "../images/helpers";
import { alpineLayer, layerOf, writeLayout } from "../images/oci";

/** Alpine, then n-1 layers: layer i adds /layers/i and rewrites /order; layer 1 adds /gone, and a
 * layer near the top whites it out. */
export async function manyLayers(dir: string, n: number): Promise<void> {
  const layers = [alpineLayer()];
  for (let i = 1; i < n; i++) {
    const entries = [
      { name: "layers/", type: "directory" as const, mode: 0o755 },
      { name: `layers/${i}`, type: "file" as const, mode: 0o644, body: `${i}\n` },
      { name: "order", type: "file" as const, mode: 0o644, body: `${i}\n` },
      ...(i === 1 ? [{ name: "gone", type: "file" as const, mode: 0o644, body: "from layer 1\n" }] : []),
      ...(i === n - 3 ? [{ name: ".wh.gone", type: "file" as const }] : []),
    ];
    layers.push(layerOf(await tarOf(entries), "none"));
  }
  writeLayout(dir, [{ layers, refName: `many:${n}` }]);
}
