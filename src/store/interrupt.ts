/**
 * Ctrl-C or SIGTERM while box prepares a container (unpacking an image, writing its directory)
 * must not leave half-made state behind. Work in progress registers how to undo itself here; on
 * SIGINT, SIGTERM or SIGHUP the undo steps run and box exits with 128+N. Once box exec's into the
 * helper these handlers are gone with the Bun process, and the helper takes over.
 */
const undo = new Set<() => void>();
let installed = false;

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

function install(): void {
  installed = true;
  for (const [name, num] of Object.entries(SIGNALS)) {
    process.on(name, () => {
      for (const fn of [...undo].reverse()) {
        try {
          fn();
        } catch {
          /* best effort: the next box run collects what is left */
        }
      }
      process.exit(128 + num);
    });
  }
}

/** Registers an undo step; returns a function that unregisters it once the work is done. */
export function onInterrupt(fn: () => void): () => void {
  if (!installed) install();
  undo.add(fn);
  return () => undo.delete(fn);
}
